'use strict'
// The C CLI against the storage vectors of /work/shared/vectors (made by JS hypercore@10.38.2):
//  1. replays the `compat` steps of gen.js with the CLI (seed 01..01): after each step `info`
//     equals the recorded snapshot, tree hashes at every earlier length match, and the final
//     data/tree/bitfield files are byte-identical to vectors.json `compat.files`. The oplog must
//     equal, byte for byte, what JS writes when it runs the same steps one session per step (as
//     the CLI does; gen.js ran them in one session, which flushes at other times), and its
//     active header must decode to the same header as the vector's.
//  2. opens copies of core-compat, core-noncompat and core-unflushed: info/get/verify/user-data
//     match the vectors, and reading leaves the files untouched.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./lib/harness')

const VDIR = path.join(h.SHARED, 'vectors')
const V = JSON.parse(fs.readFileSync(path.join(VDIR, 'vectors.json'), 'utf8'))
const C = V.compat
const SEED = V.seed
assert.strictEqual(SEED, '01'.repeat(32))

const big = Buffer.alloc(5000)
for (let i = 0; i < big.length; i++) big[i] = i & 0xff

// The steps of gen.js (compat core), in order, matching C.steps[1..]:
//   kind, blocks/args, snapshot index in C.steps
const STEPS = [
  { label: "append ['a','b','c'] (one batch)", append: ['a', 'b', 'c'] },
  { label: "append 'hello world'", append: ['hello world'] },
  { label: 'append 5000-byte block', appendFile: big },
  { label: 'truncate(3) -> fork 1', truncate: 3 },
  { label: "append ['d','e']", append: ['d', 'e'] },
  { label: "setUserData('hello','world')", userData: ['hello', 'world'] }
]

const pick = (s) => ({ length: s.length, byteLength: s.byteLength, fork: s.fork, treeHash: s.treeHash, contiguousLength: s.contiguousLength })

function replayC (dir, tmp) {
  const key = h.cliText(['create', dir, '--seed', SEED])
  assert.strictEqual(key, C.key, 'create --seed 01..01 prints the vector key')
  h.assertState(h.info(dir), { key: C.key, discoveryKey: C.discoveryKey, ...pick(C.steps[0]) }, 'C replay: empty')
  STEPS.forEach((s, i) => {
    const snap = C.steps[i + 1]
    assert.strictEqual(snap.label, s.label, 'step order of vectors.json')
    if (s.append) {
      const out = h.cliText(['append', dir, ...s.append])
      assert.strictEqual(out, String(snap.length), `${s.label}: append prints the new length`)
    } else if (s.appendFile) {
      const f = path.join(tmp, 'block.bin')
      fs.writeFileSync(f, s.appendFile)
      assert.strictEqual(h.cliText(['append-file', dir, f]), String(snap.length), `${s.label}: append-file prints the new length`)
    } else if (s.truncate !== undefined) {
      h.cli(['truncate', dir, s.truncate])
    } else if (s.userData) {
      h.cli(['user-data', dir, ...s.userData])
    }
    h.assertState(h.info(dir), { key: C.key, discoveryKey: C.discoveryKey, ...pick(snap) }, `C replay after "${s.label}"`)
    h.step('C replay: ' + s.label)
    if (s.appendFile) {
      // tree hash at every length 0..5 (before the truncate)
      for (const [l, th] of Object.entries(C.treeHashByLength)) {
        const at = JSON.parse(h.cliText(['info', dir, '--json', '--length', l]))
        assert.strictEqual(Number(at.length), Number(l), `info --length ${l}: length`)
        assert.strictEqual(String(at.treeHash).toLowerCase(), th, `info --length ${l}: treeHash`)
      }
      h.step('C: info --length N tree hashes = treeHashByLength')
    }
  })
}

// The same steps with JS, one session (open, mutate, close) per step, like the CLI.
async function replayJs (dir) {
  const Hypercore = h.Hypercore10()
  const keyPair = require('hypercore-crypto').keyPair(Buffer.from(SEED, 'hex'))
  const session = async (fn) => {
    const core = new Hypercore(dir, { keyPair })
    await core.ready()
    await fn(core)
    await core.close()
  }
  await session(async () => {})
  for (const s of STEPS) {
    await session(async (core) => {
      if (s.append) await core.append(s.append.map(b => Buffer.from(b)))
      else if (s.appendFile) await core.append(s.appendFile)
      else if (s.truncate !== undefined) await core.truncate(s.truncate)
      else if (s.userData) await core.setUserData(s.userData[0], Buffer.from(s.userData[1]))
    })
  }
}

function checkFiles (dirC, dirJ) {
  const got = h.readDirFiles(dirC)
  const expectedNames = Object.keys(C.files).filter(f => C.files[f] !== null).sort()
  assert.deepStrictEqual(Object.keys(got).sort(), expectedNames, 'files in the C core dir')
  for (const f of ['data', 'tree', 'bitfield']) {
    h.assertBuf(got[f], Buffer.from(C.files[f].hex, 'hex'), `C replay: file ${f} vs vectors.json compat.files.${f}`)
  }
  h.step('C replay: data, tree, bitfield byte-identical to the vectors')

  const opC = h.decodeOplog(got.oplog)
  const opV = h.decodeOplog(Buffer.from(C.files.oplog.hex, 'hex'))
  assert.deepStrictEqual(h.headerView(opC.header), h.headerView(opV.header), 'C replay: active oplog header vs the vector\'s')
  assert.deepStrictEqual(opC.entries.map(h.headerView), opV.entries.map(h.headerView), 'C replay: oplog entries vs the vector\'s')
  h.step('C replay: active oplog header decodes equal to the vector\'s')

  const js = h.readDirFiles(dirJ)
  for (const f of ['data', 'tree', 'bitfield']) h.assertBuf(js[f], got[f], `JS one-session-per-step replay: file ${f} (sanity)`)
  h.assertBuf(got.oplog, js.oplog, 'C replay: oplog vs JS replaying the same steps one session each')
  h.step('C replay: oplog byte-identical to JS running the same sessions')
}

function checkVectorDir (name, expected, blocks, userData) {
  const dir = h.copyDir(path.join(VDIR, name), path.join(h.tmpdir('hc-vec-'), name))
  const before = h.readDirFiles(dir)
  h.assertState(h.info(dir), expected, `${name}: info --json`)
  h.checkBlocks(dir, blocks, name)
  h.verifyOk(dir, name)
  for (const [k, v] of Object.entries(userData)) h.assertBuf(h.cli(['user-data', dir, k]), Buffer.from(v), `${name}: user-data ${k}`)
  const after = h.readDirFiles(dir)
  assert.deepStrictEqual(Object.keys(after), Object.keys(before), `${name}: reading created/removed files`)
  for (const f of Object.keys(before)) h.assertBuf(after[f], before[f], `${name}: file ${f} changed by info/get/cat/verify/user-data`)
  h.step(`${name}: info/get/verify/user-data match, files untouched`)
}

// Differential replay: a fixed pseudo-random sequence of mutations, applied by the C CLI to one
// directory and by JS (one session per operation, as the CLI) to another; after every operation
// both directories must hold the same files, byte for byte.
async function differential (root) {
  const Hypercore = h.Hypercore10()
  const keyPair = require('hypercore-crypto').keyPair(Buffer.from(SEED, 'hex'))
  const dc = path.join(root, 'diff-c')
  const dj = path.join(root, 'diff-js')
  const files = path.join(root, 'diff-files')
  fs.mkdirSync(files)
  let x = Number(process.env.HC_DIFF_SEED || 12345)
  const OPS = Number(process.env.HC_DIFF_OPS || 40)
  const rnd = (n) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n }
  const session = async (fn) => {
    const core = new Hypercore(dj, { keyPair })
    await core.ready()
    const r = await fn(core)
    await core.close()
    return r
  }
  h.cli(['create', dc, '--seed', SEED])
  await session(async () => {})
  let length = 0
  const log = []
  const noted = new Set()
  const compare = () => {
    const a = h.readDirFiles(dc)
    const b = h.readDirFiles(dj)
    // JS (random-access-file) creates a file on its first write; an empty file where JS has none
    // is equivalent on disk, so it is only noted.
    for (const f of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[f] && b[f]) continue
      const only = a[f] ? 'C' : 'JS'
      const buf = a[f] || b[f]
      assert.strictEqual(buf.length, 0, `differential after [${log.join('; ')}]: file ${f} (${buf.length} bytes) exists only in the ${only} dir`)
      if (!noted.has(f + only)) console.log(`# note: differential after [${log.join('; ')}]: empty file ${f} exists only in the ${only} dir`)
      noted.add(f + only)
      a[f] = b[f] = buf
    }
    for (const f of Object.keys(b)) h.assertBuf(a[f], b[f], `differential after [${log.join('; ')}]: file ${f}`)
  }
  compare()
  for (let i = 0; i < OPS; i++) {
    const op = rnd(20)
    if (op < 12 || length === 0) {
      const n = 1 + rnd(4)
      const blocks = []
      for (let k = 0; k < n; k++) blocks.push(rnd(8) === 0 ? h.bytes(20000 + rnd(60000), i * 10 + k) : h.bytes(rnd(300), i * 10 + k))
      const paths = blocks.map((b, k) => { const p = path.join(files, `b${i}-${k}`); fs.writeFileSync(p, b); return p })
      log.push(`append ${blocks.map(b => b.length).join(',')}`)
      h.cli(['batch', dc, ...paths])
      await session((core) => core.append(blocks))
      length += n
    } else if (op < 14) {
      const to = rnd(2) ? Math.max(0, length - 1 - rnd(3)) : rnd(length + 1)
      log.push(`truncate ${to}`)
      h.cli(['truncate', dc, to])
      await session((core) => core.truncate(to))
      length = to
    } else if (op < 18) {
      const start = rnd(length)
      const end = start + 1 + rnd(Math.min(4, length - start))
      log.push(`clear ${start} ${end}`)
      h.cli(['clear', dc, start, end])
      await session((core) => core.clear(start, end))
    } else {
      const key = 'k' + rnd(3)
      if (rnd(3) === 0) {
        log.push(`user-data ${key} --delete`)
        h.cli(['user-data', dc, key, '--delete'])
        await session((core) => core.setUserData(key, null))
      } else {
        const v = 'v' + i
        log.push(`user-data ${key} ${v}`)
        h.cli(['user-data', dc, key, v])
        await session((core) => core.setUserData(key, Buffer.from(v)))
      }
    }
    compare()
  }
  const js = await session((core) => h.jsState(core))
  h.assertState(h.info(dc), js, 'differential: final info')
  h.step(`differential: ${log.length} operations, files byte-identical after each (final length ${js.length}, fork ${js.fork})`)
}

h.main(async () => {
  const root = h.tmpdir('hc-vectors-')
  await differential(root)
  const dirC = path.join(root, 'c')
  const dirJ = path.join(root, 'js')
  replayC(dirC, root)
  await replayJs(dirJ)
  checkFiles(dirC, dirJ)

  const b = (s) => Buffer.from(s)
  checkVectorDir('core-compat', { key: C.key, discoveryKey: C.discoveryKey, ...pick(C.final) },
    [b('a'), b('b'), b('c'), b('d'), b('e')], { hello: 'world' })

  const N = V.noncompat
  checkVectorDir('core-noncompat', { key: N.key, discoveryKey: N.discoveryKey, ...pick(N.steps[0]) },
    [b('a'), b('b'), b('c')], {})

  // core-unflushed: the in-session contiguousLength (1, after clear(1)) is not what JS reports
  // when it reopens the directory; C must match the reopen value.
  const U = V.unflushed
  const disk = await h.jsDiskState(path.join(VDIR, 'core-unflushed'))
  const { contiguousLength, ...rest } = pick(U.steps[2])
  h.assertState(disk.state, { key: C.key, ...rest }, 'core-unflushed: JS reopen vs vector')
  assert.deepStrictEqual(disk.blocks, [b('a'), null, b('c')], 'core-unflushed: JS reopen blocks')
  assert.strictEqual(U.has1, false)
  if (disk.state.contiguousLength !== contiguousLength) console.log(`# note: core-unflushed contiguousLength: ${contiguousLength} in session, ${disk.state.contiguousLength} on JS reopen`)
  checkVectorDir('core-unflushed', disk.state, [b('a'), null, b('c')], { k: 'v' })
})
