'use strict'
// Cross-checks the C Merkle proofs (src/merkle_proof.c via tests/interop/proof_dump.c) against
// hypercore 10.38.2's lib/merkle-tree.js:
//  1. generation: for thousands of (length, block, hash, seek, upgrade) requests, the C proof
//     equals the JS proof node for node (or both refuse the request); the C wire encoding
//     decodes with the JS codec to the same proof;
//  2. verification: C proofs verify in JS (tree.verify + compat signature) and JS proofs verify
//     in C, on trees holding a prefix; both yield the same batch (length, tree hash, new nodes
//     in order);
//  3. tampering: corrupted JS proofs are rejected by both, C with HC_ERR_BAD_PROOF or
//     HC_ERR_BAD_SIGNATURE; where the reference accepts a modified proof, C does too.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const V = require('./merkle-proof-vectors.js')

function findDump () {
  const cands = []
  if (process.env.HC_BUILD) cands.push(path.join(process.env.HC_BUILD, 'tests', 'proof_dump'))
  if (process.env.PROOF_DUMP) cands.unshift(process.env.PROOF_DUMP)
  for (const p of cands) if (fs.existsSync(p)) return p
  throw new Error('proof_dump not found (set HC_BUILD or PROOF_DUMP)')
}
const DUMP = findDump()

function runDump (lines) {
  const r = spawnSync(DUMP, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error('proof_dump failed: ' + r.status + ' ' + r.stderr)
  const out = r.stdout.toString().trim().split('\n').map(l => JSON.parse(l))
  assert.strictEqual(out.length, lines.length, 'one answer per command')
  return out
}

const same = (a, b, msg) => assert.deepStrictEqual(a, b, msg)

async function generation () {
  const reqs = V.requests()
  const cOut = runDump(reqs.map(({ L, req }) => V.genLine(L, req)))
  let ok = 0; let refused = 0
  for (let i = 0; i < reqs.length; i++) {
    const { L, req } = reqs[i]
    const js = await V.proofOf(L, req)
    const c = cOut[i]
    const what = 'L=' + L + ' ' + JSON.stringify(req) + ' js=' + JSON.stringify(js.error || 'ok') + ' c=' + JSON.stringify(c.error || 'ok')
    if (js.error) {
      assert.strictEqual(c.ok, false, 'C must refuse too: ' + what)
      refused++
      continue
    }
    assert.strictEqual(c.ok, true, 'C must answer: ' + what)
    same(c.proof, V.normalize(js), what)
    const dec = V.wire.decode(c.wire)
    same(V.normalize(dec), c.proof, 'wire: ' + what)
    if (dec.block) assert.strictEqual(Buffer.from(dec.block.value).toString(), 'block-' + dec.block.index)
    assert.strictEqual(dec.request, 1)
    ok++
  }
  console.log('# generation: %d requests, %d proofs equal, %d refused by both', reqs.length, ok, refused)
  assert(ok > 3000, 'enough proofs compared')
}

// Requests a peer with `A` blocks would send to a peer with `L`.
async function verifyCases () {
  const cases = []
  const lengths = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 100]
  for (const L of lengths) {
    const small = L <= 17
    for (const A of sampleLen(L)) {
      const vt = await V.treeOf(A)
      for (let end = A + 1; end <= L; end += (small ? 1 : Math.max(1, Math.floor((L - A) / 4)))) {
        const upgrade = { start: A, length: end - A }
        cases.push({ L, A, req: { upgrade } })
        for (let bi = 0; bi < end; bi += (small ? 1 : 7)) {
          const nodes = await vt.missingNodes(2 * bi)
          cases.push({ L, A, req: { block: { index: bi, nodes }, upgrade } })
        }
        if (end === L) {
          const bytes = V.byteLength(L)
          for (let b = 0; b <= bytes; b += (small ? 5 : 97)) cases.push({ L, A, req: { seek: { bytes: b, padding: 0 }, upgrade } })
        }
      }
      // no upgrade: blocks the verifier knows the tree of
      for (let bi = 0; bi < A; bi += (small ? 1 : 5)) {
        for (let n = 0; n <= 3; n++) cases.push({ L, A, req: { block: { index: bi, nodes: n } } })
        cases.push({ L, A, req: { hash: { index: 2 * bi, nodes: 0 } } })
      }
    }
  }
  return cases
}

function sampleLen (L) {
  const s = new Set([0, 1, L - 1, L, Math.floor(L / 2), Math.floor(L / 3)])
  if (L <= 9) for (let i = 0; i <= L; i++) s.add(i)
  return [...s].filter(x => x >= 0 && x <= L).sort((a, b) => a - b)
}

async function verification () {
  const cases = []
  for (const t of await verifyCases()) { // requests the reference refuses were compared above
    if (!(await V.proofOf(t.L, t.req)).error) cases.push(t)
  }
  const cGen = runDump(cases.map(({ L, req }) => V.genLine(L, req)))
  const jsProofs = []
  const lines = []
  for (let i = 0; i < cases.length; i++) {
    const { L, A, req } = cases[i]
    const p = await V.proofOf(L, req)
    assert(!p.error, 'JS proof for ' + JSON.stringify(cases[i]) + ': ' + p.error)
    assert(cGen[i].ok, 'C proof for ' + JSON.stringify(cases[i]))
    if (p.block) p.block.value = V.blockValue(p.block.index) // as the responder fills it in
    jsProofs.push(p)
    lines.push('verify ' + A + ' ' + V.wire.encode(p)) // JS proof -> C
    lines.push('verify ' + A + ' ' + cGen[i].wire) // C proof -> C
  }
  const cv = runDump(lines)
  let n = 0; let rejected = 0
  for (let i = 0; i < cases.length; i++) {
    const { A } = cases[i]
    const what = JSON.stringify(cases[i])
    const jsOnJs = await V.verifyOn(A, jsProofs[i])
    const cOnJs = await V.verifyOn(A, V.wire.decode(cGen[i].wire))
    if (!jsOnJs.ok) { // a request the verifier could not have sent (e.g. a top node it lacks)
      assert(!cOnJs.ok, 'JS rejects both: ' + what)
      for (const r of [cv[2 * i], cv[2 * i + 1]]) {
        assert(!r.ok && ['HC_ERR_BAD_PROOF', 'HC_ERR_BAD_SIGNATURE', 'HC_ERR_NOT_AVAILABLE'].includes(r.error), 'C rejects: ' + what + ' ' + JSON.stringify(r))
        // NOT_AVAILABLE ("the top node is not in this tree"): JS fails loading that node too
        if (r.error === 'HC_ERR_NOT_AVAILABLE') assert(/Could not load node|Could not satisfy length/.test(jsOnJs.error), 'C lacks the top node where JS does: ' + what + ' ' + jsOnJs.error)
      }
      rejected++
      continue
    }
    same(cOnJs, jsOnJs, 'C proof verified by JS: ' + what)
    same(cv[2 * i], jsOnJs, 'JS proof verified by C: ' + what)
    same(cv[2 * i + 1], jsOnJs, 'C proof verified by C: ' + what)
    n++
  }
  assert(n > rejected && n > 1000, 'mostly verifiable cases')
  console.log('# verification: %d cases verified both ways with equal batches, %d rejected by both', n, rejected)
  return { cases, jsProofs }
}

function clone (p) { return V.wire.decode(V.wire.encode(p)) }

function* tamperings (p) {
  const lists = []
  if (p.block) lists.push(['block', p => p.block.nodes])
  if (p.hash) lists.push(['hash', p => p.hash.nodes])
  if (p.seek) lists.push(['seek', p => p.seek.nodes])
  if (p.upgrade) {
    lists.push(['upgrade', p => p.upgrade.nodes])
    lists.push(['additional', p => p.upgrade.additionalNodes])
  }
  for (const [name, get] of lists) {
    const len = get(p).length
    for (let k = 0; k < len; k++) {
      yield [name + ' hash flip ' + k, true, q => { get(q)[k].hash[k % 32] ^= 1 }]
      yield [name + ' index+2 ' + k, false, q => { get(q)[k].index += 2 }]
      yield [name + ' sibling index ' + k, false, q => { get(q)[k].index = V.flat.sibling(get(q)[k].index) }]
      yield [name + ' size+1 ' + k, false, q => { get(q)[k].size += 1 }]
      yield [name + ' drop ' + k, false, q => { get(q).splice(k, 1) }]
    }
    if (len) yield [name + ' dup last', false, q => { const l = get(q); l.push({ ...l[l.length - 1] }) }]
  }
  if (p.block) yield ['block value', true, q => { q.block.value = Buffer.from('tampered') }]
  if (p.upgrade) {
    yield ['signature flip', true, q => { q.upgrade.signature[5] ^= 0x10 }]
    yield ['fork', true, q => { q.fork = 1 }]
    yield ['upgrade length+1', false, q => { q.upgrade.length += 1 }]
    yield ['upgrade start-1', false, q => { q.upgrade.start = Math.max(0, q.upgrade.start - 1) }]
  }
}

async function tampering ({ cases, jsProofs }) {
  const items = []
  for (let i = 0; i < cases.length; i += 7) {
    if (!(await V.verifyOn(cases[i].A, jsProofs[i])).ok) continue
    for (const [name, mustFail, fn] of tamperings(jsProofs[i])) {
      const q = clone(jsProofs[i])
      fn(q)
      items.push({ A: cases[i].A, name, mustFail, strict: name.includes('size'), q, what: name + ' on ' + JSON.stringify(cases[i]) })
    }
  }
  const cv = runDump(items.map(t => 'verify ' + t.A + ' ' + V.wire.encode(t.q)))
  let rejected = 0; let stricter = 0
  for (let i = 0; i < items.length; i++) {
    const t = items[i]
    const js = await V.verifyOn(t.A, t.q)
    const c = cv[i]
    if (t.mustFail) assert(!js.ok, 'JS must reject: ' + t.what)
    if (!js.ok) {
      assert.strictEqual(c.ok, false, 'C must reject: ' + t.what)
      assert(['HC_ERR_BAD_PROOF', 'HC_ERR_BAD_SIGNATURE', 'HC_ERR_NOT_AVAILABLE'].includes(c.error), 'error code ' + c.error + ': ' + t.what)
      rejected++
    } else if (t.strict && !c.ok) {
      // C also checks the size of the untrusted top node against the stored one (the
      // reference compares only the hash and would store the wrong size)
      assert.strictEqual(c.error, 'HC_ERR_BAD_PROOF', t.what)
      stricter++
    } else {
      same(c, js, 'C must accept like JS: ' + t.what)
    }
  }
  console.log('# tampering: %d modified proofs, %d rejected by both, %d (wrong size of a known node) by C only, rest accepted by both alike', items.length, rejected, stricter)
}

async function missing () {
  const cases = []
  for (const A of [0, 1, 2, 3, 5, 8, 13, 16, 33]) {
    for (let i = 0; i < A + 3; i++) cases.push({ A, i })
  }
  const out = runDump(cases.map(({ A, i }) => 'missing ' + A + ' ' + i))
  for (let k = 0; k < cases.length; k++) {
    const t = await V.treeOf(cases[k].A)
    assert.strictEqual(out[k].count, await t.missingNodes(2 * cases[k].i), JSON.stringify(cases[k]))
  }
  console.log('# missingNodes: %d cases equal', cases.length)
}

(async () => {
  await generation()
  const v = await verification()
  await tampering(v)
  await missing()
  console.log('ok')
})().catch(err => { console.error(err); process.exit(1) })
