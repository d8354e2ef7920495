// esdk.mjs: a long-running JS ESDK (@aws-crypto/client-node) peer for the
// datamask interop tests.
//
// It reads one JSON request per line on standard input and writes one JSON
// response per line on standard output, so a test pays node's start-up once
// and not once per case. Requests are handled concurrently; every response
// carries the request's "id" and may arrive out of order.
//
// Request:
//   {"id": 1, "op": "encrypt", "keyring": K, "plaintext": B64,
//    "suite": 1144, "frameLength": 4096, "encryptionContext": {...},
//    "commitmentPolicy": "REQUIRE_ENCRYPT_REQUIRE_DECRYPT", "maxEncryptedDataKeys": 10}
//   {"id": 2, "op": "decrypt", "keyring": K, "ciphertext": B64,
//    "commitmentPolicy": ..., "maxEncryptedDataKeys": ..., "maxBodySize": ...}
//   {"id": 3, "op": "version"}
// Keyrings (K):
//   {"type": "aes", "namespace": NS, "name": N, "key": B64}        (16, 24 or 32 bytes)
//   {"type": "rsa", "namespace": NS, "name": N, "padding": P,
//    "publicKey": PEM, "privateKey": PEM}                           (either key may be absent)
//       P: "pkcs1" | "oaep-sha1" | "oaep-sha256" | "oaep-sha384" | "oaep-sha512"
//   {"type": "kms", "endpoint": URL, "generatorKeyId": ARN, "keyIds": [ARN...],
//    "discovery": false, "discoveryFilter": {"partition": "aws", "accountIDs": [...]},
//    "grantTokens": [...], "accessKeyId": "...", "secretAccessKey": "..."}
//   {"type": "multi", "generator": K or null, "children": [K...]}
// Response:
//   {"id": 1, "ok": true, "ciphertext"|"plaintext": B64, "header": H}
//   {"id": 1, "ok": false, "error": "message", "name": "ErrorName"}
// H: {"version", "suiteId", "messageId" (B64), "encryptionContext",
//     "encryptedDataKeys": [{"providerId", "providerInfo", "encryptedDataKey" (B64)}],
//     "contentType", "frameLength"}
//
// Raw AES keyrings are built with utf8Sorting: true (FORMAT.md §5.1: the
// default sorts the keyring AAD in UTF-16 order, which no conformant
// implementation can read for non-ASCII context keys), and their wrapping key
// is an isolated Uint8Array (a pooled Buffer slice is refused by the SDK).

import { createRequire } from 'node:module'
import { constants } from 'node:crypto'
import { createInterface } from 'node:readline'
import process from 'node:process'

import {
  buildClient,
  CommitmentPolicy,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
  RawRsaKeyringNode,
  KmsKeyringNode,
  MultiKeyringNode,
  getClient,
  KMS,
} from '@aws-crypto/client-node'

const require = createRequire(import.meta.url)
const clientNodeVersion = require('@aws-crypto/client-node/package.json').version

const clients = new Map() // "policy/maxEDK" -> {encrypt, decrypt}
function client(policy, maxEncryptedDataKeys) {
  const p = policy || 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT'
  if (!(p in CommitmentPolicy)) throw new Error(`unknown commitment policy ${JSON.stringify(p)}`)
  const key = `${p}/${maxEncryptedDataKeys || ''}`
  let c = clients.get(key)
  if (!c) {
    const opts = { commitmentPolicy: CommitmentPolicy[p] }
    if (maxEncryptedDataKeys) opts.maxEncryptedDataKeys = maxEncryptedDataKeys
    c = buildClient(opts)
    clients.set(key, c)
  }
  return c
}

const aesSuites = {
  16: RawAesWrappingSuiteIdentifier.AES128_GCM_IV12_TAG16_NO_PADDING,
  24: RawAesWrappingSuiteIdentifier.AES192_GCM_IV12_TAG16_NO_PADDING,
  32: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
}

const rsaPaddings = {
  pkcs1: { padding: constants.RSA_PKCS1_PADDING },
  'oaep-sha1': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
  'oaep-sha256': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'oaep-sha384': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' },
  'oaep-sha512': { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha512' },
}

// Keyrings are immutable, so one per distinct description is reused; for KMS
// this also reuses the SDK clients and their connections.
const keyrings = new Map()
function keyring(spec) {
  if (!spec || typeof spec !== 'object') throw new Error('request has no keyring')
  const cacheKey = JSON.stringify(spec)
  let k = keyrings.get(cacheKey)
  if (!k) {
    k = buildKeyring(spec)
    keyrings.set(cacheKey, k)
  }
  return k
}

function buildKeyring(spec) {
  switch (spec.type) {
    case 'aes': {
      const raw = Buffer.from(spec.key || '', 'base64')
      const wrappingSuite = aesSuites[raw.length]
      if (!wrappingSuite) throw new Error(`raw AES wrapping key must be 16, 24 or 32 bytes, got ${raw.length}`)
      return new RawAesKeyringNode({
        keyNamespace: spec.namespace,
        keyName: spec.name,
        unencryptedMasterKey: new Uint8Array(raw), // isolated copy, not a pooled slice
        wrappingSuite,
        utf8Sorting: true,
      })
    }
    case 'rsa': {
      const pad = rsaPaddings[spec.padding]
      if (!pad) throw new Error(`unknown RSA padding ${JSON.stringify(spec.padding)}`)
      const rsaKey = {}
      if (spec.publicKey) rsaKey.publicKey = spec.publicKey
      if (spec.privateKey) rsaKey.privateKey = spec.privateKey
      // The RSA keyring does not bind the encryption context, so it has no
      // utf8Sorting option; the header is always in UTF-8 order.
      return new RawRsaKeyringNode({ keyNamespace: spec.namespace, keyName: spec.name, rsaKey, ...pad })
    }
    case 'kms': {
      const config = {
        credentials: {
          accessKeyId: spec.accessKeyId || 'test',
          secretAccessKey: spec.secretAccessKey || 'test',
        },
        maxAttempts: 3,
      }
      if (spec.endpoint) config.endpoint = spec.endpoint
      // The region comes from each key ARN (getClient calls us per region).
      const clientProvider = getClient(KMS, config)
      const input = { clientProvider, grantTokens: spec.grantTokens }
      if (spec.discovery) {
        input.discovery = true
        if (spec.discoveryFilter) input.discoveryFilter = spec.discoveryFilter
      } else {
        if (spec.generatorKeyId) input.generatorKeyId = spec.generatorKeyId
        input.keyIds = spec.keyIds || []
      }
      return new KmsKeyringNode(input)
    }
    case 'multi': {
      const input = { children: (spec.children || []).map(keyring) }
      if (spec.generator) input.generator = keyring(spec.generator)
      return new MultiKeyringNode(input)
    }
    default:
      throw new Error(`unknown keyring type ${JSON.stringify(spec.type)}`)
  }
}

function b64(u8) {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64')
}

function header(h) {
  return {
    version: h.version,
    suiteId: h.suiteId,
    messageId: b64(h.messageId),
    encryptionContext: h.encryptionContext,
    encryptedDataKeys: h.encryptedDataKeys.map((e) => ({
      providerId: e.providerId,
      providerInfo: e.providerInfo,
      encryptedDataKey: b64(e.encryptedDataKey),
    })),
    contentType: h.contentType,
    frameLength: h.frameLength,
  }
}

async function handle(req) {
  switch (req.op) {
    case 'version':
      return { node: process.version, clientNode: clientNodeVersion }
    case 'encrypt': {
      const { encrypt } = client(req.commitmentPolicy, req.maxEncryptedDataKeys)
      const opts = { encryptionContext: req.encryptionContext || {} }
      if (req.suite) opts.suiteId = req.suite
      if (req.frameLength) opts.frameLength = req.frameLength
      const pt = Buffer.from(req.plaintext || '', 'base64')
      const { result, messageHeader } = await encrypt(keyring(req.keyring), pt, opts)
      return { ciphertext: b64(result), header: header(messageHeader) }
    }
    case 'decrypt': {
      const { decrypt } = client(req.commitmentPolicy, req.maxEncryptedDataKeys)
      const opts = {}
      if (req.maxBodySize) opts.maxBodySize = req.maxBodySize
      const ct = Buffer.from(req.ciphertext || '', 'base64')
      const { plaintext, messageHeader } = await decrypt(keyring(req.keyring), ct, opts)
      return { plaintext: b64(plaintext), header: header(messageHeader) }
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`)
  }
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

const inflight = new Set()
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  if (line.trim() === '') return
  let req
  try {
    req = JSON.parse(line)
  } catch (e) {
    reply({ id: null, ok: false, error: `esdk.mjs: request is not JSON: ${e.message}`, name: 'SyntaxError' })
    return
  }
  const p = handle(req)
    .then((out) => reply({ id: req.id, ok: true, ...out }))
    .catch((e) => reply({ id: req.id, ok: false, error: String((e && e.message) || e), name: (e && e.name) || 'Error' }))
    .finally(() => inflight.delete(p))
  inflight.add(p)
})
// Standard input closed: finish what is in flight, then exit.
rl.on('close', async () => {
  await Promise.allSettled([...inflight])
  process.exitCode = 0
})
