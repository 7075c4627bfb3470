'use strict'
// Helpers for the Hyperbee / Hyperdrive interop tests: a seeded PRNG, random operations,
// a model of the key-value state, and the `hypercore bee query` protocol.

const assert = require('node:assert')
const h = require('./harness')

// xorshift128+ on BigInt-free 32-bit halves (mulberry32 is enough here)
function rng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(next() * n)
  const bytes = (n) => {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = int(256)
    return b
  }
  return { next, int, bytes }
}

// Keys 1 B .. 1 KiB (mostly short, sharing prefixes so comparisons go deep), values
// 0 B .. 64 KiB (mostly small). Some keys start with "s\0" to exercise subs.
function genOps (seed, n, { batchEvery = 0 } = {}) {
  const r = rng(seed)
  const keys = []
  const ops = []
  const pickKey = () => {
    if (keys.length && r.next() < 0.35) return keys[r.int(keys.length)]
    let k
    const x = r.next()
    if (x < 0.6) k = Buffer.from('k' + r.int(n * 4).toString(36))
    else if (x < 0.75) k = Buffer.concat([Buffer.from('s\0'), r.bytes(1 + r.int(8))])
    else if (x < 0.97) k = r.bytes(1 + r.int(24))
    else k = r.bytes(1 + r.int(1024))
    keys.push(k)
    return k
  }
  const pickValue = () => {
    const x = r.next()
    if (x < 0.05) return Buffer.alloc(0)
    if (x < 0.9) return r.bytes(1 + r.int(64))
    if (x < 0.99) return r.bytes(1 + r.int(4096))
    return r.bytes(1 + r.int(65536))
  }
  let inBatch = 0
  for (let i = 0; i < n; i++) {
    if (batchEvery && !inBatch && r.next() < 1 / batchEvery) {
      inBatch = 1 + r.int(40)
      ops.push({ type: 'batch' })
    }
    const del = keys.length && r.next() < 0.25
    ops.push(del ? { type: 'del', key: pickKey() } : { type: 'put', key: pickKey(), value: pickValue() })
    if (inBatch && --inBatch === 0) ops.push({ type: 'flush' })
  }
  if (inBatch) ops.push({ type: 'flush' })
  return ops
}

// Applies ops to a JS Hyperbee (batch/flush as Hyperbee batches).
async function jsApply (bee, ops) {
  let b = null
  for (const op of ops) {
    if (op.type === 'batch') b = bee.batch()
    else if (op.type === 'flush') { await b.flush(); b = null } else if (op.type === 'put') await (b || bee).put(op.key, op.value)
    else await (b || bee).del(op.key)
  }
  if (b) await b.flush()
}

// The `bee apply` input for the same ops.
function applyScript (ops) {
  return ops.map((op) => op.type === 'put' ? `put ${op.key.toString('hex')} ${op.value.toString('hex')}`
    : op.type === 'del' ? `del ${op.key.toString('hex')}` : op.type).join('\n') + '\n'
}

// Model: Map hexkey -> value (Buffer), after the ops.
function model (ops) {
  const m = new Map()
  for (const op of ops) {
    if (op.type === 'put') m.set(op.key.toString('hex'), op.value)
    else if (op.type === 'del') m.delete(op.key.toString('hex'))
  }
  return m
}

// The versions a reader can check out: after each single operation or whole batch (a version
// inside a batch has no root of its own: hyperbee compacts those blocks, JS fails there too).
function commitVersions (ops) {
  const live = new Set()
  let v = 1
  let inBatch = false
  const out = [1]
  for (const op of ops) {
    if (op.type === 'batch') inBatch = true
    else if (op.type === 'flush') { inBatch = false; out.push(v) } else {
      const k = op.key.toString('hex')
      if (op.type === 'put') { live.add(k); v++ } else if (live.has(k)) { live.delete(k); v++ } else continue
      if (!inBatch) out.push(v)
    }
  }
  return [...new Set(out)]
}

// Random range queries over a set of known keys.
function genRanges (seed, keys, n) {
  const r = rng(seed)
  const sorted = keys.slice().sort(Buffer.compare)
  const bound = () => {
    const x = r.next()
    if (x < 0.6 && sorted.length) return sorted[r.int(sorted.length)]
    if (x < 0.8) return r.bytes(1 + r.int(4))
    return Buffer.from('k' + r.int(1000).toString(36))
  }
  const out = []
  for (let i = 0; i < n; i++) {
    const q = {}
    const g = r.int(3); const l = r.int(3)
    if (g === 1) q.gt = bound(); else if (g === 2) q.gte = bound()
    if (l === 1) q.lt = bound(); else if (l === 2) q.lte = bound()
    if (r.next() < 0.4) q.reverse = true
    if (r.next() < 0.5) q.limit = 1 + r.int(50)
    out.push(q)
  }
  return out
}

function rangeQuery (q, extra = '') {
  let s = 'range'
  for (const k of ['gt', 'gte', 'lt', 'lte']) if (q[k]) s += ` ${k}=${q[k].toString('hex')}`
  if (q.reverse) s += ' reverse'
  if (q.limit) s += ` limit=${q.limit}`
  return s + extra
}

const valHex = (v) => v === null || v === undefined ? '-' : Buffer.from(v).toString('hex')
const entryLine = (e) => `${Buffer.from(e.key).toString('hex')} ${valHex(e.value)}`

// Runs `bee query DIR` with the query lines; returns the answers (arrays of lines).
function cQuery (dir, lines, extraArgs = [], chunk = 0) {
  // big bees: few range queries per process, so no answer set outgrows the pipe buffer
  if (!chunk) chunk = lines.every((l) => l.startsWith('get ')) ? 5000 : Number(process.env.HC_BEE_OPS || 0) > 20000 ? 1 : 400
  if (lines.length > chunk) {
    const all = []
    for (let i = 0; i < lines.length; i += chunk) all.push(...cQuery(dir, lines.slice(i, i + chunk), extraArgs, chunk))
    return all
  }
  const out = h.cli(['bee', 'query', dir, ...extraArgs], { input: lines.join('\n') + '\n' }).toString()
  const answers = []
  let cur = []
  for (const l of out.split('\n')) {
    if (l === '') continue
    if (l === '.') { answers.push(cur); cur = [] } else if (l.startsWith('! ')) { answers.push({ error: l.slice(2) }); cur = [] } else cur.push(l)
  }
  assert.strictEqual(answers.length, lines.length, 'one answer per query')
  return answers
}

async function jsRange (bee, q) {
  const out = []
  for await (const e of bee.createReadStream(q)) out.push(entryLine(e))
  return out
}

async function jsHistory (bee, opts) {
  const out = []
  for await (const e of bee.createHistoryStream(opts)) out.push(`${e.type} ${e.seq} ${entryLine(e)}`)
  return out
}

module.exports = { rng, genOps, commitVersions, jsApply, applyScript, model, genRanges, rangeQuery, entryLine, valHex, cQuery, jsRange, jsHistory }
