'use strict'
// Hyperbee written by JS (hyperbee 2.27.3 on hypercore 10.38.2), read by C (`hypercore bee`):
// every get, randomised ranges (bounds, reverse, limits), checkouts at random versions,
// history streams and subs give exactly JS's answers; a sparse C reader (--connect) fetches
// only the blocks on the path of a key. HC_BEE_OPS sets the number of operations (default
// 5000; the full run: 100000).

const assert = require('node:assert')
const path = require('node:path')
const Hypercore = require('hc10')
const Hyperbee = require('hyperbee')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const bu = require('./lib/bee-util')

const N = Number(process.env.HC_BEE_OPS || 5000)

h.main(async () => {
  const root = h.tmpdir('hc-bee-js-')
  const dir = path.join(root, 'bee')
  const core = new Hypercore(dir)
  const bee = new Hyperbee(core)
  await bee.ready()
  const ops = bu.genOps(1, N, { batchEvery: 30 })
  const t0 = Date.now()
  await bu.jsApply(bee, ops)
  const m = bu.model(ops)
  h.step(`JS wrote ${ops.length} operations (${m.size} keys live), version ${bee.version}, in ${Date.now() - t0} ms`)
  await core.close()

  const rcore = new Hypercore(dir, { writable: false })
  const rbee = new Hyperbee(rcore)
  await rbee.ready()

  // version
  assert.strictEqual(Number(h.cliText(['bee', 'version', dir])), rbee.version, 'version')

  // every get: live keys, deleted keys and absent ones
  const allKeys = []
  const seen = new Set()
  for (const op of ops) {
    const k = op.key && op.key.toString('hex')
    if (k && !seen.has(k)) { seen.add(k); allKeys.push(op.key) }
  }
  const probe = allKeys.concat([Buffer.from('absent'), Buffer.alloc(1), Buffer.from('zzzz')])
  const cGets = bu.cQuery(dir, probe.map((k) => `get ${k.toString('hex')}`))
  for (let i = 0; i < probe.length; i++) {
    const e = await rbee.get(probe[i])
    const want = e ? [bu.entryLine(e)] : []
    assert.deepStrictEqual(cGets[i], want, `get ${probe[i].toString('hex')}`)
    const mv = m.get(probe[i].toString('hex'))
    assert.deepStrictEqual(e ? Buffer.from(e.value) : undefined, mv, 'JS agrees with the model')
  }
  h.step(`${probe.length} gets equal JS's (${m.size} present)`)

  // randomised ranges
  const ranges = bu.genRanges(2, allKeys, 300)
  ranges.push({}, { reverse: true }, { limit: 1 }, { gte: Buffer.from('k'), lt: Buffer.from('l') })
  const cR = bu.cQuery(dir, ranges.map((q) => bu.rangeQuery(q)))
  let total = 0
  for (let i = 0; i < ranges.length; i++) {
    const want = await bu.jsRange(rbee, ranges[i])
    total += want.length
    assert.deepStrictEqual(cR[i], want, `range ${bu.rangeQuery(ranges[i])}`)
  }
  h.step(`${ranges.length} ranges equal JS's createReadStream (${total} entries)`)

  // checkouts at random versions: gets of a sample and ranges
  const r = bu.rng(3)
  let nq = 0
  const versions = bu.commitVersions(ops)
  assert.strictEqual(versions[versions.length - 1], rbee.version, 'commit versions')
  for (let i = 0; i < 20; i++) {
    const v = versions[r.int(versions.length)]
    const snap = rbee.checkout(v)
    const lines = [] // compared per checkout: the answers of a big bee do not pile up
    const expect = []
    for (let j = 0; j < 40; j++) {
      const k = allKeys[r.int(allKeys.length)]
      lines.push(`get ${k.toString('hex')} version=${v}`)
      const e = await snap.get(k)
      expect.push(e ? [bu.entryLine(e)] : [])
    }
    const q = bu.genRanges(100 + i, allKeys, 3)
    for (const qq of q) {
      lines.push(bu.rangeQuery(qq, ` version=${v}`))
      expect.push(await bu.jsRange(snap, qq))
    }
    lines.push(`range version=${v} limit=3000`)
    expect.push(await bu.jsRange(snap, { limit: 3000 }))
    await snap.close()
    assert.deepStrictEqual(bu.cQuery(dir, lines), expect, `checkout ${v}`)
    nq += lines.length
  }
  h.step(`20 checkouts: ${nq} queries equal JS's`)

  // history streams
  const hs = [{}, { reverse: true }, { gte: 10, lt: 200 }, { gte: 5, limit: 17 }, { reverse: true, limit: 30 }]
  const hl = hs.map((o) => 'history' + (o.gte ? ` gte=${o.gte}` : '') + (o.lt ? ` lt=${o.lt}` : '') +
    (o.reverse ? ' reverse' : '') + (o.limit ? ` limit=${o.limit}` : ''))
  hl.push(`history version=${Math.floor(rbee.version / 2)}`)
  const cH = bu.cQuery(dir, hl)
  for (let i = 0; i < hs.length; i++) assert.deepStrictEqual(cH[i], await bu.jsHistory(rbee, hs[i]), hl[i])
  const half = rbee.checkout(Math.floor(rbee.version / 2))
  assert.deepStrictEqual(cH[hs.length], await bu.jsHistory(half, {}), 'history of a checkout')
  await half.close()
  h.step(`history streams equal JS's (${cH[0].length} blocks)`)

  // subs: the keys under "s" + 0x00
  const sub = rbee.sub('s')
  const subQ = [{}, { reverse: true }, { limit: 5 }, { gte: Buffer.from([0x40]) }, { lt: Buffer.from([0x80]), reverse: true }]
  const cS = bu.cQuery(dir, subQ.map((q) => bu.rangeQuery(q, ' sub=' + Buffer.from('s').toString('hex'))))
  for (let i = 0; i < subQ.length; i++) assert.deepStrictEqual(cS[i], await bu.jsRange(sub, subQ[i]), `sub range ${i}`)
  assert.ok(cS[0].length > 0, 'the sub holds keys')
  const sk = (await bu.jsRange(sub, { limit: 3 })).map((l) => l.split(' ')[0])
  const cSG = bu.cQuery(dir, sk.map((k) => `get ${k} sub=73`))
  for (let i = 0; i < sk.length; i++) assert.deepStrictEqual(cSG[i], [bu.entryLine(await sub.get(Buffer.from(sk[i], 'hex')))], 'sub get')
  h.step(`sub('s'): ${cS[0].length} keys, ranges and gets equal JS's`)

  // the CLI contract: get raw, ls --json, not found
  const someKey = allKeys.find((k) => m.has(k.toString('hex')) && /^k[0-9a-z]+$/.test(k.toString()))
  h.assertBuf(h.cli(['bee', 'get', dir, someKey.toString()]), m.get(someKey.toString('hex')), 'bee get raw')
  const nf = h.cliFails(['bee', 'get', dir, 'no-such-key'])
  assert.match(nf.stderr, /not found/)
  const js = h.cliText(['bee', 'ls', dir, '--hex', '--json', '--limit', '3']).trim().split('\n').map((l) => JSON.parse(l))
  const first = await bu.jsRange(rbee, { limit: 3 })
  assert.deepStrictEqual(js.map((e) => `${e.key} ${e.value === null ? '-' : e.value}`), first, 'ls --json --hex')
  h.step('bee get / ls --json / not found')

  // sparse: a C reader with nothing local fetches only the path to one key
  const srv = await u.jsServe(rcore)
  try {
    const target = allKeys.filter((k) => m.has(k.toString('hex')))[Math.floor(m.size / 2)]
    const res = await u.runC(['bee', 'get', rcore.key.toString('hex'), target.toString('hex'), '--hex',
      '--connect', srv.connect, '--stats', '--timeout', 20000])
    assert.strictEqual(res.status, 0, res.stderr)
    assert.strictEqual(res.stdout.toString().trim(), m.get(target.toString('hex')).toString('hex'), 'sparse get value')
    const fetched = Number(/fetched (\d+) blocks/.exec(res.stderr)[1])
    // the header, the root and one node per level plus the keys compared on the way
    assert.ok(fetched >= 2 && fetched <= 60, `sparse get fetched ${fetched} of ${rcore.length} blocks`)
    h.step(`sparse get over TCP: ${fetched} of ${rcore.length} blocks fetched`)
    const res2 = await u.runC(['bee', 'ls', rcore.key.toString('hex'), '--connect', srv.connect, '--limit', '5', '--hex', '--stats'])
    assert.strictEqual(res2.status, 0, res2.stderr)
    assert.deepStrictEqual(res2.stdout.toString().trim().split('\n').map((l) => l.split(' ').length === 1 ? l + ' -' : l), await bu.jsRange(rbee, { limit: 5 }), 'sparse ls')
    h.step(`sparse ls --limit 5: ${/fetched (\d+)/.exec(res2.stderr)[1]} blocks fetched`)
  } finally {
    await srv.close()
  }
  await rbee.close()

  // a bee written by hypercore 11 (hyperdrive 13's stack), read by C over the wire
  const c11 = await u.jsCore('v11')
  const b11 = new Hyperbee(c11)
  await b11.ready()
  const ops11 = bu.genOps(21, 600, { batchEvery: 10 })
  await bu.jsApply(b11, ops11)
  const srv11 = await u.jsServe(c11)
  try {
    const res = await u.runC(['bee', 'ls', c11.key.toString('hex'), '--hex', '--connect', srv11.connect, '--timeout', 20000])
    assert.strictEqual(res.status, 0, res.stderr)
    const got = res.stdout.toString().trim().split('\n').map((l) => l.split(' ').length === 1 ? l + ' -' : l)
    assert.deepStrictEqual(got, await bu.jsRange(b11, {}), 'v11 bee over the wire')
    h.step(`hypercore 11 bee (${got.length} keys) read by C over TCP`)
  } finally {
    await srv11.close()
    await b11.close()
  }
})
