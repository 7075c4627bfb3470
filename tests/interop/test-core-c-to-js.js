'use strict'
// The C CLI writes cores; JS hypercore@10.38.2 opens the directories: same key, lengths, fork,
// tree hash and blocks, the reference audit finds nothing to correct, JS can append (it finds
// the key pair in the C-written header), and the C CLI then reads what JS appended.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./lib/harness')

const Hypercore = h.Hypercore10()

async function jsOpen (dir) {
  const core = new Hypercore(dir)
  await core.ready()
  return core
}

async function jsBlocks (core) {
  const out = []
  for (let i = 0; i < core.length; i++) out.push(await core.has(i) ? await core.get(i, { wait: false }) : null)
  return out
}

// The reference audit (lib/audit.js: re-hashes every stored block and tree node) on a copy,
// since it repairs in place. Expects no corrections.
async function audit (dir, label) {
  const copy = h.copyDir(dir, path.join(h.tmpdir('hc-audit-'), 'core'))
  const core = await jsOpen(copy)
  const corrections = await core.core.audit()
  await core.close()
  assert.deepStrictEqual(corrections, { tree: 0, blocks: 0 }, `${label}: JS audit corrections`)
}

// Checks JS sees exactly what C reports, and the expected blocks.
async function checkJs (dir, blocks, label) {
  const c = h.info(dir)
  const core = await jsOpen(dir)
  const js = await h.jsState(core)
  const got = await jsBlocks(core)
  assert.strictEqual(core.writable, true, `${label}: JS sees a writable core (key pair in header)`)
  await core.close()
  h.assertState(c, js, `${label}: C info vs JS`)
  assert.strictEqual(js.length, blocks.length, `${label}: JS length`)
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i] === null) assert.strictEqual(got[i], null, `${label}: JS block ${i} should not be stored`)
    else h.assertBuf(got[i], blocks[i], `${label}: JS block ${i}`)
  }
  await audit(dir, label)
  return js
}

h.main(async () => {
  const root = h.tmpdir('hc-c2js-')
  const files = path.join(root, 'files')
  fs.mkdirSync(files)
  const file = (name, buf) => { const p = path.join(files, name); fs.writeFileSync(p, buf); return p }

  // ---- random key, every way of appending ----
  const dir = path.join(root, 'main')
  const key = h.cliText(['create', dir])
  assert.match(key, /^[0-9a-f]{64}$/, 'create prints 64 hex chars')
  const blocks = []
  const expectLen = (out, what) => assert.strictEqual(out.toString().trim(), String(blocks.length), `${what} prints the new length`)

  blocks.push(Buffer.from('a'), Buffer.from('bb'), Buffer.from('hello world'))
  expectLen(h.cli(['append', dir, 'a', 'bb', 'hello world']), 'append args')

  blocks.push(Buffer.from('line one'), Buffer.from('line two'), Buffer.from('3'))
  expectLen(h.cli(['append', dir], { input: Buffer.from('line one\nline two\n3\n') }), 'append stdin lines')

  const raw = Buffer.concat([h.bytes(1000, 11), Buffer.from('\n\0\n'), h.bytes(10, 12)])
  blocks.push(raw)
  expectLen(h.cli(['append', dir, '--raw'], { input: raw }), 'append --raw')

  for (const [n, seed] of [[0, 0], [1, 13], [64 * 1024, 14], [1024 * 1024, 15]]) {
    const buf = h.bytes(n, seed)
    blocks.push(buf)
    expectLen(h.cli(['append-file', dir, file('f' + n, buf)]), `append-file ${n} bytes`)
  }
  h.step(`C appended ${blocks.length} blocks (args, stdin lines, --raw, append-file 0 B..1 MiB)`)

  const batch = [Buffer.from('batch 1'), h.bytes(3000, 16), Buffer.alloc(0), Buffer.from('batch 4')]
  blocks.push(...batch)
  expectLen(h.cli(['batch', dir, ...batch.map((b, i) => file('b' + i, b))]), 'batch')
  let js = await checkJs(dir, blocks, 'after appends')
  assert.strictEqual(js.key, key, 'key printed by create')
  assert.strictEqual(js.fork, 0)
  h.step(`JS reads the C core: ${js.length} blocks, ${js.byteLength} bytes`)

  h.cli(['truncate', dir, 11]) // keeps the 1 MiB block (index 10)
  blocks.length = 11
  blocks.push(Buffer.from('after truncate'), Buffer.from('t2'))
  expectLen(h.cli(['append', dir, 'after truncate', 't2']), 'append after truncate')
  h.cli(['truncate', dir, 12])
  blocks.length = 12
  blocks.push(Buffer.from('x'), h.bytes(100 * 1024, 17))
  expectLen(h.cli(['batch', dir, file('x', blocks[12]), file('big2', blocks[13])]), 'batch after truncate')
  js = await checkJs(dir, blocks, 'after truncates')
  assert.strictEqual(js.fork, 2, 'two truncates bump the fork twice')
  h.step('JS reads the C core after two truncates (fork 2)')

  // ---- JS appends to the C-made core, C reads it ----
  const core = await jsOpen(dir)
  const more = [Buffer.from('from js 1'), h.bytes(5000, 18), Buffer.alloc(0)]
  await core.append(more.slice(0, 2))
  await core.append(more[2]) // second append of the session: stays an unflushed oplog entry
  blocks.push(...more)
  const afterJs = await h.jsState(core)
  await core.close()
  assert.ok(h.decodeOplog(fs.readFileSync(path.join(dir, 'oplog'))).entries.length >= 1, 'JS left an unflushed oplog entry')
  h.assertState(h.info(dir), afterJs, 'C info after JS appended')
  h.checkBlocks(dir, blocks, 'C reads JS appends')
  h.verifyOk(dir, 'after JS appends')
  h.step('C reads the blocks JS appended (incl. an unflushed oplog entry)')

  // ...and C appends again on top, JS reads it all.
  blocks.push(Buffer.from('c again'))
  expectLen(h.cli(['append', dir, 'c again']), 'append after JS')
  await checkJs(dir, blocks, 'C after JS')
  h.step('C appends after JS, JS reads it')

  // ---- clear: JS sees the blocks as missing ----
  h.cli(['clear', dir, 1, 3])
  blocks[1] = null
  blocks[2] = null
  const cleared = await jsOpen(dir)
  for (const i of [1, 2]) assert.strictEqual(await cleared.has(i), false, `JS has(${i}) after C clear`)
  for (const i of [0, 3]) assert.strictEqual(await cleared.has(i), true, `JS has(${i}) after C clear`)
  const clearedState = await h.jsState(cleared)
  await cleared.close()
  h.assertState(h.info(dir), clearedState, 'C info vs JS after clear')
  h.checkBlocks(dir, blocks, 'after clear')
  h.verifyOk(dir, 'after clear')
  await audit(dir, 'after clear')
  h.step(`clear 1 3: JS sees blocks 1,2 missing, contiguousLength ${clearedState.contiguousLength}`)

  // ---- seeded key: the compat key of the vectors ----
  const V = JSON.parse(fs.readFileSync(path.join(h.SHARED, 'vectors', 'vectors.json'), 'utf8'))
  const sdir = path.join(root, 'seeded')
  assert.strictEqual(h.cliText(['create', sdir, '--seed', V.seed]), V.compat.key, 'create --seed key')
  h.cli(['append', sdir, 'a', 'b', 'c'])
  const s = await checkJs(sdir, [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], 'seeded')
  assert.strictEqual(s.key, V.compat.key)
  assert.strictEqual(s.discoveryKey, V.compat.discoveryKey)
  assert.strictEqual(s.treeHash, V.compat.steps[1].treeHash)
  h.step('seeded core: vector key, discovery key and tree hash; JS reads it')

  // ---- user data written by C, read by JS ----
  if (h.cliHas('user-data')) {
    h.cli(['user-data', sdir, 'hello', 'world'])
    h.cli(['user-data', sdir, 'gone', 'x'])
    h.cli(['user-data', sdir, 'gone', '--delete'])
    const u = await jsOpen(sdir)
    h.assertBuf(await u.getUserData('hello'), Buffer.from('world'), 'JS getUserData(hello) of C core')
    assert.strictEqual(await u.getUserData('gone'), null, 'JS getUserData(gone) after C --delete')
    await u.setUserData('fromjs', Buffer.from('yes'))
    await u.close()
    h.assertBuf(h.cli(['user-data', sdir, 'fromjs']), Buffer.from('yes'), 'C user-data of JS value')
    h.step('user data: C -> JS and JS -> C')
  } else {
    console.log('# NOTE: the CLI has no `user-data` subcommand; user data not checked')
  }
})
