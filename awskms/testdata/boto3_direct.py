"""What a Lambda function following AWS's guidance for values encrypted
with KMS directly does, with boto3: kms.encrypt of a string, stored as the
base64 of the CiphertextBlob, and kms.decrypt of such a value.

Reads a JSON document from standard input whose "ssn" datamask encrypted
with awskms.DirectProvider; writes a JSON document with "ssn" and "card"
encrypted by boto3 and "read" the ssn boto3 decrypted. The environment
points boto3 at the fake KMS (AWS_ENDPOINT_URL_KMS, AWS_REGION, ...) and
names the key (KEY_ARN).
"""
import base64
import json
import os
import sys

import boto3

kms = boto3.client("kms")
key = os.environ["KEY_ARN"]
context = {"LambdaFunctionName": "orders"}


def encrypt(value):
    blob = kms.encrypt(KeyId=key, Plaintext=value.encode("utf-8"), EncryptionContext=context)["CiphertextBlob"]
    return base64.b64encode(blob).decode("ascii")


def decrypt(value):
    blob = base64.b64decode(value)
    return kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"].decode("utf-8")


theirs = json.load(sys.stdin)
json.dump({"ssn": encrypt("987-65-4321"), "card": encrypt("4111-1111-1111-1111"), "read": decrypt(theirs["ssn"])}, sys.stdout)
