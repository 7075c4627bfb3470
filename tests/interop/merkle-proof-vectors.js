'use strict'
// Merkle proofs of the JS reference (hypercore 10.38.2 lib/merkle-tree.js, used directly on an
// in-memory random-access-storage), for comparison with tests/interop/proof_dump.c.
//
// Trees: length L holds blocks "block-0" .. "block-(L-1)", fork 0, signed with the compat
// signable by the Ed25519 key of seed 32 x 0x2a (the same as proof_dump).
//
// As a module: { treeOf, proofOf, verifyOn, normalize, requests, wire, keyPair }.
// Run directly: prints {request, proof} JSON lines for the default request set.

const MerkleTree = require('hc10/lib/merkle-tree.js')
const messages = require('hc10/lib/messages.js')
const crypto = require('hypercore-crypto')
const c = require('compact-encoding')
const flat = require('flat-tree')

const keyPair = crypto.keyPair(Buffer.alloc(32, 0x2a))

// Minimal random-access-storage in memory (read past the end errors, like RAM).
class MemStorage {
  constructor () { this.buf = Buffer.alloc(0) }
  read (offset, size, cb) {
    if (offset + size > this.buf.length) return queueMicrotask(() => cb(new Error('Could not satisfy length')))
    const out = Buffer.from(this.buf.subarray(offset, offset + size))
    queueMicrotask(() => cb(null, out))
  }

  write (offset, data, cb) {
    if (offset + data.length > this.buf.length) {
      const b = Buffer.alloc(offset + data.length)
      this.buf.copy(b)
      this.buf = b
    }
    data.copy(this.buf, offset)
    queueMicrotask(() => cb(null))
  }

  truncate (offset, cb) { this.buf = this.buf.subarray(0, offset); queueMicrotask(() => cb(null)) }
  stat (cb) { queueMicrotask(() => cb(null, { size: this.buf.length })) }
  close (cb) { queueMicrotask(() => cb(null)) }
}

const blockValue = (i) => Buffer.from('block-' + i)

const trees = new Map()
async function treeOf (length) {
  if (trees.has(length)) return trees.get(length)
  const tree = await MerkleTree.open(new MemStorage())
  if (length > 0) {
    const b = tree.batch()
    for (let i = 0; i < length; i++) b.append(blockValue(i))
    b.signature = crypto.sign(b.signableCompat(), keyPair.secretKey)
    b.commit()
  }
  trees.set(length, tree)
  return tree
}

// A request as proof_dump's `gen` arguments.
function genLine (L, r) {
  const v = [L,
    r.block ? 1 : 0, r.block ? r.block.index : 0, r.block ? r.block.nodes : 0,
    r.hash ? 1 : 0, r.hash ? r.hash.index : 0, r.hash ? r.hash.nodes : 0,
    r.seek ? 1 : 0, r.seek ? r.seek.bytes : 0, r.seek ? r.seek.padding : 0,
    r.upgrade ? 1 : 0, r.upgrade ? r.upgrade.start : 0, r.upgrade ? r.upgrade.length : 0]
  return 'gen ' + v.join(' ')
}

function copyReq (r) {
  return {
    block: r.block ? { ...r.block } : null,
    hash: r.hash ? { ...r.hash } : null,
    seek: r.seek ? { ...r.seek } : null,
    upgrade: r.upgrade ? { ...r.upgrade } : null
  }
}

// JS proof for request r on the tree of length L, or { error }.
async function proofOf (L, r) {
  const tree = await treeOf(L)
  try {
    return await tree.proof(copyReq(r))
  } catch (err) {
    return { error: err.code || err.message }
  }
}

const nodes = (ns) => ns.map(n => [n.index, n.size, Buffer.from(n.hash).toString('hex')])

// The JSON shape proof_dump prints.
function normalize (p) {
  return {
    fork: p.fork,
    block: p.block ? { index: p.block.index, nodes: nodes(p.block.nodes) } : null,
    hash: p.hash ? { index: p.hash.index, nodes: nodes(p.hash.nodes) } : null,
    seek: p.seek ? { bytes: p.seek.bytes, nodes: nodes(p.seek.nodes) } : null,
    upgrade: p.upgrade
      ? {
          start: p.upgrade.start,
          length: p.upgrade.length,
          nodes: nodes(p.upgrade.nodes),
          additionalNodes: nodes(p.upgrade.additionalNodes),
          signature: p.upgrade.signature ? Buffer.from(p.upgrade.signature).toString('hex') : ''
        }
      : null
  }
}

const wire = {
  encode (p) {
    const m = { request: 1, manifest: null, ...p }
    if (m.block && !m.block.value) m.block = { ...m.block, value: blockValue(m.block.index) }
    return Buffer.from(c.encode(messages.wire.data, m)).toString('hex')
  },
  decode (hex) { return c.decode(messages.wire.data, Buffer.from(hex, 'hex')) }
}

// tree.verify on the JS tree of length A plus the compat signature check (core.js does it for
// upgrades). { ok, length, fork, hash, nodes, upgraded } or { ok: false, error }.
async function verifyOn (A, proof) {
  const tree = await treeOf(A)
  try {
    const batch = await tree.verify(proof)
    if (proof.upgrade) {
      if (!batch.signature || !crypto.verify(batch.signableCompat(), batch.signature, keyPair.publicKey)) {
        return { ok: false, error: 'INVALID_SIGNATURE' }
      }
    }
    return {
      ok: true,
      length: batch.length,
      fork: batch.fork,
      upgraded: batch.upgraded,
      hash: Buffer.from(batch.hash()).toString('hex'),
      nodes: nodes(batch.nodes)
    }
  } catch (err) {
    return { ok: false, error: err.code || err.message }
  }
}

const byteLength = (L) => { let s = 0; for (let i = 0; i < L; i++) s += blockValue(i).length; return s }

function sample (lo, hi, max) { // integers in [lo, hi), at most ~max of them, ends included
  const out = []
  if (hi <= lo) return out
  const step = Math.max(1, Math.floor((hi - lo) / max))
  for (let i = lo; i < hi; i += step) out.push(i)
  if (out[out.length - 1] !== hi - 1) out.push(hi - 1)
  return out
}

// The default request set: [{ L, req }].
function requests () {
  const out = []
  const lengths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 21, 31, 32, 33, 63, 64, 65, 100]
  for (const L of lengths) {
    const small = L <= 17
    const bytes = byteLength(L)
    const maxDepth = Math.ceil(Math.log2(L)) + 2
    // upgrade only
    for (const start of sample(0, L, small ? L : 8)) {
      for (const end of sample(start + 1, L + 1, small ? L : 6)) {
        out.push({ L, req: { upgrade: { start, length: end - start } } })
      }
    }
    // block / hash, no upgrade
    for (const i of sample(0, L, small ? L : 10)) {
      for (let n = 0; n <= maxDepth; n++) out.push({ L, req: { block: { index: i, nodes: n } } })
    }
    for (const h of sample(0, 2 * L, small ? 2 * L : 16)) {
      for (let n = 0; n <= 3; n++) out.push({ L, req: { hash: { index: h, nodes: n } } })
    }
    // block + upgrade
    for (const start of sample(0, L, small ? 6 : 5)) {
      for (const end of sample(start + 1, L + 1, 4)) {
        for (const i of sample(0, L, small ? L : 8)) {
          for (const n of [0, 1, 2]) out.push({ L, req: { block: { index: i, nodes: n }, upgrade: { start, length: end - start } } })
        }
      }
    }
    // hash + upgrade
    for (const start of sample(0, L, 4)) {
      for (const h of sample(0, 2 * L, small ? 2 * L : 12)) {
        out.push({ L, req: { hash: { index: h, nodes: 1 }, upgrade: { start, length: L - start } } })
      }
    }
    // seek + upgrade
    for (const start of sample(0, L, 4)) {
      for (const b of sample(0, bytes + 2, small ? 40 : 20)) {
        for (const padding of [0, 1]) out.push({ L, req: { seek: { bytes: b, padding }, upgrade: { start, length: L - start } } })
      }
    }
    // block + seek (no upgrade), and with an upgrade when the block is below start
    for (const i of sample(0, L, small ? L : 6)) {
      for (const n of [1, 2, 3, maxDepth]) {
        for (const b of sample(0, bytes + 1, 12)) {
          out.push({ L, req: { block: { index: i, nodes: n }, seek: { bytes: b, padding: 0 } } })
          if (i + 1 < L) out.push({ L, req: { block: { index: i, nodes: n }, seek: { bytes: b, padding: 0 }, upgrade: { start: i + 1, length: L - i - 1 } } })
        }
      }
    }
    // hash + seek, no upgrade (with an upgrade the reference can loop forever)
    for (const h of sample(0, 2 * L, 6)) {
      for (const b of sample(0, bytes + 1, 6)) out.push({ L, req: { hash: { index: h, nodes: 2 }, seek: { bytes: b, padding: 0 } } })
    }
  }
  return out
}

module.exports = { treeOf, proofOf, verifyOn, normalize, requests, genLine, wire, keyPair, blockValue, byteLength, flat }

if (require.main === module) {
  (async () => {
    for (const { L, req } of requests()) {
      const p = await proofOf(L, req)
      console.log(JSON.stringify({ L, req, proof: p.error ? { error: p.error } : normalize(p) }))
    }
  })()
}
