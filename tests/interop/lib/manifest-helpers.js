'use strict'
// Helpers for the manifest / multisig interop tests: deterministic key pairs, manifests as
// the reference builds them (lib/verifier.js createManifest), multisig signatures assembled
// in JS (lib/multisig.js through Verifier.assemble), and a JS-side check of a core's head.

const assert = require('node:assert')
const crypto = require('hypercore-crypto')
const Verifier = require('hc10/lib/verifier')
const caps = require('hc10/lib/caps')
const h = require('./harness')

// Ed25519 key pair from a 32-byte seed filled with `n`.
function keyPair (n) { return crypto.keyPair(Buffer.alloc(32, n)) }

const skHex = (kp) => h.hex(kp.secretKey)
const pkHex = (kp) => h.hex(kp.publicKey)

// A normalised manifest (createManifest) of `signers` (key pairs or { publicKey, namespace }).
function manifest ({ version = 1, signers = [], quorum, namespace, prologue = null } = {}) {
  const inp = {
    version,
    signers: signers.map((s) => ({ publicKey: s.publicKey, namespace: s.namespace || namespace || caps.DEFAULT_NAMESPACE })),
    prologue
  }
  if (typeof quorum === 'number') inp.quorum = quorum
  return Verifier.createManifest(inp)
}

const manifestKey = (m) => Verifier.manifestHash(m)

// The signature for appending `blocks` to `core` (a hypercore 10 session), signed by the key
// pairs `signers` of `man` and assembled as the reference does.
function multisigSignature (core, man, signers, blocks) {
  const batch = core.core.tree.batch()
  for (const b of blocks) batch.append(b)
  const v = Verifier.fromManifest(man)
  const parts = signers.map((kp) => {
    const idx = v.signers.findIndex((s) => s.publicKey.equals(kp.publicKey))
    assert.ok(idx >= 0, 'signer not in the manifest')
    return { signer: idx, signature: v.signers[idx].sign(batch, kp), patch: 0, nodes: null }
  })
  return v.assemble(parts)
}

async function multisigAppend (core, man, signers, blocks) {
  const signature = multisigSignature(core, man, signers, blocks)
  return core.append(blocks, { signature })
}

// Does JS accept the core's current signature (Verifier of its stored manifest)?
function jsHeadVerifies (core) {
  const inner = core.core
  const v = new Verifier(inner.header.key, Verifier.createManifest(inner.header.manifest))
  return v.verify(inner.tree.batch(), inner.tree.signature)
}

// `hypercore manifest DIR` as an object.
function cManifest (dir) {
  return JSON.parse(h.cliText(['manifest', dir]))
}

// The C manifest JSON equals a JS manifest.
function assertSameManifest (cm, jm, label) {
  assert.strictEqual(cm.version, jm.version, label + ': version')
  assert.strictEqual(cm.quorum, jm.quorum, label + ': quorum')
  assert.strictEqual(cm.allowPatch, !!jm.allowPatch, label + ': allowPatch')
  assert.deepStrictEqual(cm.signers.map((s) => [s.namespace, s.publicKey]),
    jm.signers.map((s) => [h.hex(s.namespace), h.hex(s.publicKey)]), label + ': signers')
  assert.deepStrictEqual(cm.prologue, jm.prologue ? { hash: h.hex(jm.prologue.hash), length: jm.prologue.length } : null, label + ': prologue')
  // hypercore 11 manifests carry linked keys and user data (null when absent)
  if ('linked' in jm) assert.deepStrictEqual(cm.linked, jm.linked ? jm.linked.map(h.hex) : null, label + ': linked')
  if ('userData' in jm) assert.deepStrictEqual(cm.userData, jm.userData ? h.hex(jm.userData) : null, label + ': userData')
}

module.exports = { keyPair, skHex, pkHex, manifest, manifestKey, multisigSignature, multisigAppend, jsHeadVerifies, cManifest, assertSameManifest, Verifier, caps }
