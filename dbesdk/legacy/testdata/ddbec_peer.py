"""Drives the DynamoDB Encryption Client for Python (the peer) for the tests
of package legacy.

The client is not part of this repository: TestPythonPeer runs this script
with PYTHONPATH set to the client's src folder (DDBEC_PYTHON_SRC, a checkout
of aws/aws-dynamodb-encryption-python) and the installed boto3 and
cryptography. With TOKENIZATION_SAMPLE_SRC (the src/tokenizer folder of
aws-samples/aws-serverless-tokenization) it also runs the sample's own
ddb_encrypt_item module, against the DynamoDB and KMS endpoints of the
environment (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS).

It reads one JSON request per line on standard input and answers one JSON
object per line on standard output: {"ok": true, "item": ...} or
{"ok": false, "error": "..."}. Items are DynamoDB JSON with binary values in
base64, as in the vector manifests. Requests:

  {"op": "encrypt" | "decrypt", "test": T, "item": ITEM}
      T holds table, partition_key, sort_key, actions, default_action and
      keyring as a manifest test does (keyring types static, wrapped and
      aws-kms-direct). The key attributes get the actions DDBEC's
      EncryptedTable gives them (AttributeActions.set_index_keys).
  {"op": "bench", "bench_op": "encrypt" | "decrypt", "n": N, "test": T, "item": ITEM}
      encrypts ITEM (or decrypts it, encrypted once) N times in a loop.
  {"op": "sample_create_table", "table": NAME}
  {"op": "sample_put", "table": NAME, "item": {name: string}}
      the sample's encrypt_item(); answers the item as stored (a raw
      get_item).
  {"op": "sample_put_raw", "table": NAME, "item": ITEM}
      stores ITEM unchanged (put_item on the plain client).
  {"op": "sample_get", "table": NAME, "key": {name: string}}
      the sample's get_decrypted_item(); answers the decrypted item.
"""

import base64
import contextlib
import copy
import json
import os
import sys
import traceback

import boto3
from boto3.dynamodb.types import TypeSerializer

from dynamodb_encryption_sdk.delegated_keys.jce import JceNameLocalDelegatedKey
from dynamodb_encryption_sdk.encrypted import CryptoConfig
from dynamodb_encryption_sdk.encrypted.item import decrypt_dynamodb_item, encrypt_dynamodb_item
from dynamodb_encryption_sdk.identifiers import CryptoAction, EncryptionKeyType, KeyEncodingType
from dynamodb_encryption_sdk.material_providers.aws_kms import AwsKmsCryptographicMaterialsProvider
from dynamodb_encryption_sdk.material_providers.static import StaticCryptographicMaterialsProvider
from dynamodb_encryption_sdk.material_providers.wrapped import WrappedCryptographicMaterialsProvider
from dynamodb_encryption_sdk.materials.raw import RawDecryptionMaterials, RawEncryptionMaterials
from dynamodb_encryption_sdk.structures import AttributeActions, EncryptionContext


def from_json(value):
    """DynamoDB JSON with base64 binaries -> boto3 client item values."""
    (typ, v), = value.items()
    if typ == "B":
        return {"B": base64.b64decode(v)}
    if typ == "BS":
        return {"BS": [base64.b64decode(m) for m in v]}
    if typ == "L":
        return {"L": [from_json(e) for e in v]}
    if typ == "M":
        return {"M": {k: from_json(e) for k, e in v.items()}}
    return {typ: v}


def to_json(value):
    (typ, v), = value.items()
    if typ == "B":
        return {"B": base64.b64encode(bytes(v)).decode()}
    if typ == "BS":
        return {"BS": [base64.b64encode(bytes(m)).decode() for m in v]}
    if typ == "L":
        return {"L": [to_json(e) for e in v]}
    if typ == "M":
        return {"M": {k: to_json(e) for k, e in v.items()}}
    return {typ: v}


def item_from_json(item):
    return {k: from_json(v) for k, v in item.items()}


def item_to_json(item):
    return {k: to_json(v) for k, v in item.items()}


def symmetric(key_b64, algorithm):
    return JceNameLocalDelegatedKey(
        key=base64.b64decode(key_b64),
        algorithm=algorithm,
        key_type=EncryptionKeyType.SYMMETRIC,
        key_encoding=KeyEncodingType.RAW,
    )


def rsa_key(der_b64, algorithm, key_type):
    return JceNameLocalDelegatedKey(
        key=base64.b64decode(der_b64), algorithm=algorithm, key_type=key_type, key_encoding=KeyEncodingType.DER
    )


def signing_key(kr):
    if kr["signing_algorithm"] == "HmacSHA256":
        return symmetric(kr["signing_key"], "HmacSHA256")
    if kr["signing_algorithm"] == "SHA256withRSA":
        return rsa_key(kr["signing_key"], "SHA256withRSA", EncryptionKeyType.PRIVATE)
    raise ValueError("signing algorithm %r" % kr["signing_algorithm"])


def provider(kr):
    md = kr.get("material_description") or {}
    if kr["type"] == "static":
        enc = symmetric(kr["encryption_key"], "AES")
        sig = signing_key(kr)
        return StaticCryptographicMaterialsProvider(
            encryption_materials=RawEncryptionMaterials(signing_key=sig, encryption_key=enc, material_description=md),
            decryption_materials=RawDecryptionMaterials(verification_key=sig, decryption_key=enc, material_description=md),
        )
    if kr["type"] == "wrapped":
        if kr["encryption_algorithm"] == "AES":
            wrap = unwrap = symmetric(kr["encryption_key"], "AES")
        else:
            wrap = rsa_key(kr["encryption_key"], "RSA", EncryptionKeyType.PUBLIC)
            unwrap = rsa_key(kr["decryption_key"], "RSA", EncryptionKeyType.PRIVATE)
        return WrappedCryptographicMaterialsProvider(
            signing_key=signing_key(kr), wrapping_key=wrap, unwrapping_key=unwrap, material_description=md
        )
    if kr["type"] == "aws-kms-direct":
        return AwsKmsCryptographicMaterialsProvider(key_id=kr["key_arn"])
    raise ValueError("keyring type %r" % kr["type"])


def crypto_config(test, item):
    actions = AttributeActions(
        default_action=CryptoAction[test["default_action"]],
        attribute_actions={k: CryptoAction[v] for k, v in test["actions"].items()},
    )
    keys = [test["partition_key"]] + ([test["sort_key"]] if test.get("sort_key") else [])
    actions.set_index_keys(*keys)
    context = EncryptionContext(
        table_name=test["table"], partition_key_name=test["partition_key"], sort_key_name=test.get("sort_key")
    )
    return CryptoConfig(materials_provider=provider(test["keyring"]), encryption_context=context,
                        attribute_actions=actions).with_item(item)


_sample = None


def sample():
    """The tokenization sample's ddb_encrypt_item module (it reads KMSKey)."""
    global _sample
    if _sample is None:
        sys.path.insert(0, os.environ["TOKENIZATION_SAMPLE_SRC"])
        import ddb_encrypt_item  # pylint: disable=import-outside-toplevel

        _sample = ddb_encrypt_item
    return _sample


def handle(req):
    op = req["op"]
    if op in ("encrypt", "decrypt"):
        item = item_from_json(req["item"])
        config = crypto_config(req["test"], copy.deepcopy(item))
        if op == "encrypt":
            return item_to_json(encrypt_dynamodb_item(item, config))
        return item_to_json(decrypt_dynamodb_item(copy.deepcopy(item), config))
    if op == "bench":
        # The peer's own loop, with one configuration as an application keeps.
        item = item_from_json(req["item"])
        config = crypto_config(req["test"], copy.deepcopy(item))
        if req["bench_op"] == "encrypt":
            for _ in range(req["n"]):
                encrypt_dynamodb_item(item, config)
        else:
            stored = encrypt_dynamodb_item(item, config)
            for _ in range(req["n"]):
                decrypt_dynamodb_item(dict(stored), config)
        return {}
    if op == "sample_create_table":
        boto3.client("dynamodb").create_table(
            TableName=req["table"],
            AttributeDefinitions=[
                {"AttributeName": "Hash_Key", "AttributeType": "S"},
                {"AttributeName": "Account_Id", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "Hash_Key", "KeyType": "HASH"},
                {"AttributeName": "Account_Id", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        return {}
    if op == "sample_put":
        with contextlib.redirect_stdout(sys.stderr):  # the sample prints the PutItem response
            sample().encrypt_item(req["item"], req["table"])
        key = {"Hash_Key": {"S": req["item"]["Hash_Key"]}, "Account_Id": {"S": req["item"]["Account_Id"]}}
        raw = boto3.client("dynamodb").get_item(TableName=req["table"], Key=key, ConsistentRead=True)
        return item_to_json(raw["Item"])
    if op == "sample_put_raw":
        boto3.client("dynamodb").put_item(TableName=req["table"], Item=item_from_json(req["item"]))
        return {}
    if op == "sample_get":
        with contextlib.redirect_stdout(sys.stderr):
            resp = sample().get_decrypted_item(req["key"], req["table"])
        if "Item" not in resp:
            raise KeyError("no such item")
        ser = TypeSerializer()
        return item_to_json({k: ser.serialize(v) for k, v in resp["Item"].items()})
    raise ValueError("unknown op %r" % op)


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            out = {"ok": True, "item": handle(req)}
        except Exception as e:  # pylint: disable=broad-except
            out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            if os.environ.get("DDBEC_PEER_DEBUG"):
                traceback.print_exc()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
