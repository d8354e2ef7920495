"""Drives the fake KMS with boto3, configured only through the environment.

kmstest's TestBoto3 runs this with the variables of Server.Env() plus
KEY_ARN (an enabled key) and DISABLED_KEY_ARN (a disabled one), and reads
one JSON object per line: {"check": name, "ok": bool, "detail": text}.
"""

import json
import os
import sys

import boto3
import botocore.config
import botocore.exceptions

KEY = os.environ["KEY_ARN"]
DISABLED = os.environ["DISABLED_KEY_ARN"]
UNKNOWN = KEY.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"

# No endpoint_url or region here: both come from AWS_ENDPOINT_URL_KMS and
# AWS_DEFAULT_REGION, as they would for an unchanged program.
kms = boto3.client(
    "kms",
    config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}),
)


def report(check, ok, detail=""):
    print(json.dumps({"check": check, "ok": bool(ok), "detail": str(detail)}), flush=True)


def expect_error(check, code, status, call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        got_status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        report(check, got == code and got_status == status, f"{got} (HTTP {got_status})")
        return
    report(check, False, "succeeded")


def main():
    ec = {"tenant": "acme", "purpose": "boto3"}

    md = kms.describe_key(KeyId=KEY)["KeyMetadata"]
    report("DescribeKey", md["Arn"] == KEY and md["Enabled"] and md["KeyState"] == "Enabled", md["Arn"])

    dk = kms.generate_data_key(KeyId=KEY, KeySpec="AES_256", EncryptionContext=ec)
    report("GenerateDataKey", len(dk["Plaintext"]) == 32 and dk["KeyId"] == KEY, dk["KeyId"])
    dec = kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=ec, KeyId=KEY)
    report("DecryptDataKey", dec["Plaintext"] == dk["Plaintext"] and dec["KeyId"] == KEY, dec["KeyId"])

    # The Go test throttles the first Encrypt: boto3's retryer retries it.
    enc = kms.encrypt(KeyId=KEY, Plaintext=b"hello from boto3", EncryptionContext=ec)
    report("EncryptAfterThrottle", enc["KeyId"] == KEY and enc["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT",
           enc["ResponseMetadata"].get("RetryAttempts"))
    dec = kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ec)
    report("Decrypt", dec["Plaintext"] == b"hello from boto3", dec["KeyId"])

    expect_error("WrongContext", "InvalidCiphertextException", 400,
                 lambda: kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext={"tenant": "other"}))
    expect_error("DisabledKey", "DisabledException", 409,
                 lambda: kms.encrypt(KeyId=DISABLED, Plaintext=b"x"))
    expect_error("UnknownKey", "NotFoundException", 400,
                 lambda: kms.generate_data_key(KeyId=UNKNOWN, NumberOfBytes=32))
    expect_error("IncorrectKey", "IncorrectKeyException", 400,
                 lambda: kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ec, KeyId=DISABLED))
    try:
        kms.decrypt(CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ec, KeyId=UNKNOWN)
        report("ModeledException", False, "succeeded")
    except kms.exceptions.NotFoundException as e:
        report("ModeledException", True, type(e).__name__)

    created = kms.create_key(Description="from boto3")["KeyMetadata"]
    kms.disable_key(KeyId=created["Arn"])
    state = kms.describe_key(KeyId=created["KeyId"])["KeyMetadata"]["KeyState"]
    kms.enable_key(KeyId=created["KeyId"])
    report("CreateDisableEnable", state == "Disabled" and created["Description"] == "from boto3", state)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, so the Go test shows what broke
        report("unexpected", False, f"{type(e).__name__}: {e}")
        sys.exit(1)
