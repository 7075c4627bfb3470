'use strict'
// bee and drive --swarm: a JS hyperswarm peer on a hyperdht testnet bound to 127.0.0.1 serves
// a hyperbee 2.27.3 (hypercore 10.38.2, core.replicate on each connection) and a hyperdrive
// 11.13.4 (corestore 6.18.4, store.replicate on each connection: the db and blobs cores on the
// same connection). The C CLI finds them by key only (`--swarm --bootstrap ...`, no address):
// - `bee get KEY K` returns the value and fetches only the blocks on the path (--stats);
//   `bee ls` (whole, and a bounded reverse range) equals JS's createReadStream;
// - a hypercore 11.37.1 bee: `bee ls` equals JS;
// - `drive cat KEY PATH` equals the bytes, fetching exactly the file's blobs blocks and a few
//   db blocks; a byte range only its blocks; `drive ls --recursive` equals JS's list;
// - a second peer with an empty replica on the topic does not hide the writer's data;
// - a key nobody serves: exit 1 "no peer serving KEY was found on the swarm" after --timeout;
//   a key only an empty replica serves: believed after 2 s ("not found");
// - the option rules: --swarm with --connect, a write with --swarm, --bootstrap alone: exit 2.

const assert = require('node:assert')
const crypto = require('node:crypto')
const RAM = require('random-access-memory')
const Hyperbee = require('hyperbee')
const Hyperdrive = require('hyperdrive')
const Corestore = require('cs6')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const bu = require('./lib/bee-util')
const { loopbackTestnet, jsSwarm } = require('./lib/swarm-util')

const TIMEOUT = ['--timeout', '20000']

// Runs the CLI; adds ms (wall time of the whole process: helper start, lookup, fetches).
async function timed (args) {
  const t0 = Date.now()
  const r = await u.runC(args, { timeout: 60000 })
  r.ms = Date.now() - t0
  return r
}

// JS announces topic and replicates each connection with replicate(conn).
async function announce (testnet, topic, replicate, label) {
  const swarm = jsSwarm(testnet)
  const conns = { n: 0 }
  swarm.on('connection', (c) => { conns.n++; replicate(c) })
  await u.withTimeout(swarm.join(topic, { server: true, client: false }).flushed(), 30000, label + ' announce')
  return { swarm, conns }
}

function fetchedDb (stderr, label) {
  const m = /fetched (\d+) blocks of the db core \(length (\d+)\)(?:, (\d+) of the blobs core \(length (\d+)\))?/.exec(stderr)
  assert.ok(m, `${label}: no --stats line in: ${stderr}`)
  return { db: Number(m[1]), dbLen: Number(m[2]), blobs: m[3] === undefined ? null : Number(m[3]) }
}

async function beeOverSwarm (testnet, bootstrap) {
  const core = new (require('hc10'))(RAM)
  const bee = new Hyperbee(core)
  await bee.ready()
  // 3000 operations, in batches and single puts/dels: a tree several levels deep
  const ops = bu.genOps(7, 3000, { batchEvery: 4 })
  await bu.jsApply(bee, ops)
  for (let i = 0; i < 40; i++) await bee.put(`key-${String(i).padStart(3, '0')}`, `value ${i}`)
  const key = core.key.toString('hex')
  const { swarm, conns } = await announce(testnet, core.discoveryKey, (c) => core.replicate(c), 'bee')
  try {
    // get: the value, and only the blocks on the path
    const res = await timed(['bee', 'get', key, 'key-017', '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT])
    assert.strictEqual(res.status, 0, `bee get --swarm: exit ${res.status}; stderr: ${res.stderr}`)
    assert.strictEqual(res.stdout.toString(), 'value 17', 'bee get --swarm value')
    const f = fetchedDb(res.stderr, 'bee get')
    assert.strictEqual(f.dbLen, core.length, 'the remote length was learned')
    assert.ok(f.db >= 2 && f.db <= 60 && f.db * 10 < core.length, `bee get fetched ${f.db} of ${core.length} blocks`)
    assert.match(res.stderr, /swarm: connected to [0-9a-f]{16}/, 'bee get --swarm --stats shows the connection')
    assert.ok(conns.n >= 1, 'the JS swarm saw the connection')
    h.step(`bee get --swarm: the value, ${f.db} of ${core.length} blocks fetched, ${res.ms} ms in all`)

    // a key that is absent: exit 1 "not found"
    await u.cliErr(['bee', 'get', key, 'no-such-key', '--swarm', '--bootstrap', bootstrap, ...TIMEOUT], /not found/, { timeout: 60000 }, 'absent key')

    // ls: whole, and a bounded range, equal JS's createReadStream
    const ls = await timed(['bee', 'ls', key, '--hex', '--swarm', '--bootstrap', bootstrap, ...TIMEOUT])
    assert.strictEqual(ls.status, 0, ls.stderr)
    const lines = ls.stdout.toString().trim().split('\n').map((l) => l.split(' ').length === 1 ? l + ' -' : l)
    const want = await bu.jsRange(bee, {})
    assert.ok(want.length > 1000, `the bee holds ${want.length} keys`)
    assert.deepStrictEqual(lines, want, 'bee ls --swarm equals JS')
    const q = { gte: Buffer.from('key-005'), lt: Buffer.from('key-030'), reverse: true, limit: 7 }
    const ls2 = await u.runC(['bee', 'ls', key, '--json', '--gte', 'key-005', '--lt', 'key-030', '--reverse', '--limit', '7',
      '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT], { timeout: 60000 })
    assert.strictEqual(ls2.status, 0, ls2.stderr)
    const got = ls2.stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
    const jsq = []
    for await (const e of bee.createReadStream(q)) jsq.push({ key: e.key.toString(), value: e.value.toString() })
    assert.strictEqual(jsq.length, 7)
    assert.deepStrictEqual(got, jsq, 'bee ls --json range --swarm equals JS')
    const f2 = fetchedDb(ls2.stderr, 'bee ls range')
    assert.ok(f2.db * 5 < core.length, `a 7-key range fetched ${f2.db} of ${core.length} blocks`)
    h.step(`bee ls --swarm: ${lines.length} entries (${core.length} blocks) equal JS's in ${ls.ms} ms; a 7-key reverse range: ${f2.db} blocks fetched`)

    // a second peer on the topic holding an empty replica (a reader that announces): the
    // reader still gets the writer's length and the value (asked of every peer)
    const empty = new (require('hc10'))(RAM, core.key)
    await empty.ready()
    const e = await announce(testnet, core.discoveryKey, (c) => empty.replicate(c), 'empty replica')
    try {
      const r2 = await timed(['bee', 'get', key, 'key-033', '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT])
      assert.strictEqual(r2.status, 0, `bee get --swarm with an empty peer: exit ${r2.status}; stderr: ${r2.stderr}`)
      assert.strictEqual(r2.stdout.toString(), 'value 33', 'bee get --swarm with an empty peer')
      assert.strictEqual(fetchedDb(r2.stderr, 'empty peer').dbLen, core.length, 'the writer\'s length')
      h.step(`an empty replica also on the topic (${e.conns.n} connection): the value in ${r2.ms} ms`)
    } finally {
      await e.swarm.destroy()
      await empty.close()
    }
  } finally {
    await swarm.destroy()
    await bee.close()
  }
}

async function driveOverSwarm (testnet, bootstrap) {
  const store = new Corestore(RAM)
  const drive = new Hyperdrive(store)
  await drive.ready()
  const files = new Map()
  files.set('/hello.txt', Buffer.from('hello swarm\n'))
  files.set('/empty', Buffer.alloc(0))
  files.set('/docs/big.bin', h.bytes(5 * 65536 + 1234, 3))
  const r = bu.rng(11)
  for (let i = 0; i < 60; i++) files.set(`/d${i % 4}/sub${i % 3}/f${i}.dat`, r.bytes(r.int(3000)))
  for (const [p, data] of files) await drive.put(p, data)
  await drive.symlink('/link', '/hello.txt')
  await drive.del('/d0/sub0/f0.dat')
  files.delete('/d0/sub0/f0.dat')
  const key = drive.key.toString('hex')
  const jsAll = []
  for await (const e of drive.list('/')) jsAll.push(e)
  const entry = jsAll.find((e) => e.key === '/docs/big.bin')
  const blobsLen = drive.blobs.core.length
  const { swarm } = await announce(testnet, drive.discoveryKey, (c) => store.replicate(c), 'drive')
  try {
    const res = await timed(['drive', 'cat', key, '/docs/big.bin', '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT])
    assert.strictEqual(res.status, 0, `drive cat --swarm: exit ${res.status}; stderr: ${res.stderr}`)
    h.assertBuf(res.stdout, files.get('/docs/big.bin'), 'drive cat --swarm')
    const f = fetchedDb(res.stderr, 'drive cat')
    assert.strictEqual(f.blobs, entry.value.blob.blockLength, 'exactly the file\'s blobs blocks')
    assert.ok(f.db >= 2 && f.db <= 25 && f.db * 3 < f.dbLen, `db blocks fetched: ${f.db} of ${f.dbLen}`)
    h.step(`drive cat --swarm: ${files.get('/docs/big.bin').length} bytes equal; ${f.blobs} of ${blobsLen} blobs blocks, ${f.db} of ${f.dbLen} db blocks, ${res.ms} ms in all`)

    const rg = await u.runC(['drive', 'cat', key, '/docs/big.bin', '--start', 131000, '--length', 2000, '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT], { timeout: 60000 })
    assert.strictEqual(rg.status, 0, rg.stderr)
    h.assertBuf(rg.stdout, files.get('/docs/big.bin').subarray(131000, 133000), 'drive cat range --swarm')
    assert.strictEqual(fetchedDb(rg.stderr, 'range').blobs, 2, 'a range across one block boundary: 2 blobs blocks')

    const ls = await u.runC(['drive', 'ls', key, '/', '--recursive', '--swarm', '--bootstrap', bootstrap, ...TIMEOUT], { timeout: 60000 })
    assert.strictEqual(ls.status, 0, ls.stderr)
    assert.deepStrictEqual(ls.stdout.toString().split('\n').filter(Boolean), jsAll.map((e) => e.key), 'drive ls --recursive --swarm')
    h.step(`drive cat --start --length and ls --recursive (${jsAll.length} entries) over the swarm equal JS's`)
  } finally {
    await swarm.destroy()
    await drive.close()
    await store.close()
  }
}

// Nobody serves the key: exit 1 naming it after --timeout. Only an empty replica serves it:
// believed after a grace of 2 s, the bee is then empty ("not found"). Run side by side.
async function noPeer (testnet, bootstrap) {
  const key = crypto.randomBytes(32).toString('hex')
  const empty = new (require('hc10'))(RAM)
  await empty.ready()
  const e = await announce(testnet, empty.discoveryKey, (c) => empty.replicate(c), 'empty core')
  try {
    const t0 = Date.now()
    const gave = async (p) => { await p; return Date.now() - t0 }
    const [dt, , de] = await Promise.all([
      gave(u.cliErr(['bee', 'get', key, 'k', '--swarm', '--bootstrap', bootstrap, '--timeout', '2000'],
        /no peer serving [0-9a-f]{64} was found on the swarm within 2\.0 s/, { timeout: 60000 }, 'bee get --swarm, nobody serves')),
      u.cliErr(['drive', 'ls', key, '--swarm', '--bootstrap', bootstrap, '--timeout', '1000'],
        /no peer serving [0-9a-f]{64} was found on the swarm within 1\.0 s/, { timeout: 60000 }, 'drive ls --swarm, nobody serves'),
      gave(u.cliErr(['bee', 'get', empty.key.toString('hex'), 'k', '--swarm', '--bootstrap', bootstrap, '--stats', ...TIMEOUT],
        /not found[^]*length 0/, { timeout: 60000 }, 'bee get --swarm, only an empty core'))
    ])
    assert.ok(dt >= 2000 && dt < 20000, `gave up after ${dt} ms`)
    assert.ok(de >= 2000 && de < 20000, `an empty core believed after ${de} ms`)
    h.step(`a key nobody serves: exit 1 after ${dt} ms with "no peer serving KEY was found"; only an empty core: "not found" after ${de} ms`)
  } finally {
    await e.swarm.destroy()
    await empty.close()
  }
}

async function usage () {
  const key = crypto.randomBytes(32).toString('hex')
  for (const args of [
    ['bee', 'get', key, 'k', '--swarm', '--connect', '127.0.0.1:1'],
    ['bee', 'put', key, 'k', 'v', '--swarm'],
    ['bee', 'get', key, 'k', '--bootstrap', '127.0.0.1:1'],
    ['bee', 'get', 'not-a-key', 'k', '--swarm'],
    ['drive', 'put', key, '/f', '/dev/null', '--swarm'],
    ['drive', 'cat', key, '/f', '--bootstrap', '127.0.0.1:1']
  ]) {
    const res = await u.runC(args)
    assert.strictEqual(res.status, 2, `${res.cmd}: exit ${res.status}, expected 2 (usage); stderr: ${res.stderr}`)
  }
  h.step('--swarm with --connect, writes with --swarm, --bootstrap alone, a bad key: exit 2')
  await u.cliErr(['bee', 'get', key, 'k', '--swarm'], /helper is not installed at .*: run 'npm ci --prefix/,
    { env: { HC_SWARM_HELPER: '/nonexistent/helper.js' } }, 'missing helper')
  await u.cliErr(['drive', 'cat', key, '/f', '--swarm'], /Node\.js not found .*install it with/,
    { env: { HC_NODE: '/nonexistent/node' } }, 'missing node')
  h.step('a missing helper or Node.js: exit 1 naming the command that installs it')
}

// A bee on hypercore 11.37.1 (hyperdrive 13's stack) read over the swarm.
async function v11Bee (testnet, bootstrap) {
  const core = await u.jsCore('v11')
  const bee = new Hyperbee(core)
  await bee.ready()
  await bu.jsApply(bee, bu.genOps(21, 400, { batchEvery: 10 }))
  const { swarm } = await announce(testnet, core.discoveryKey, (c) => core.replicate(c), 'v11 bee')
  try {
    const res = await timed(['bee', 'ls', core.key.toString('hex'), '--hex', '--swarm', '--bootstrap', bootstrap, ...TIMEOUT])
    assert.strictEqual(res.status, 0, res.stderr)
    const got = res.stdout.toString().trim().split('\n').map((l) => l.split(' ').length === 1 ? l + ' -' : l)
    assert.deepStrictEqual(got, await bu.jsRange(bee, {}), 'v11 bee ls --swarm')
    h.step(`a hypercore 11 bee (${got.length} keys) listed over the swarm in ${res.ms} ms`)
  } finally {
    await swarm.destroy()
    await bee.close()
  }
}

h.main(async () => {
  await usage()
  const { testnet, bootstrap } = await loopbackTestnet(3)
  try {
    await beeOverSwarm(testnet, bootstrap)
    await driveOverSwarm(testnet, bootstrap)
    await v11Bee(testnet, bootstrap)
    await noPeer(testnet, bootstrap)
  } finally {
    await testnet.destroy()
  }
})
