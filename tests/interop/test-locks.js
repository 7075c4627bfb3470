'use strict'
// Locks that the JS reference sees (issue 10, part 4). JS 10.38.2 locks a core's oplog (and
// corestore 6.18.4 its primary-key) with an fcntl OFD lock (fs-native-extensions); C takes the
// same lock, so a C process and a JS process never both write one core or one store:
//   - a JS 10.38.2 writer holds a core: C `append` is refused ("locked"), nothing is written;
//     C's read-only commands (info, cat, verify) still work; after JS closes, C appends.
//   - C holds a core (`hypercore serve --stdin`): JS `ready()` fails with ELOCKED, nothing is
//     written; a JS unlocked (read-only) session reads it, as JS readers take no lock.
//   - corestore 6 holds a store: C's primary-key lock (hc__lock_file_open, through the
//     test_lock_ofd probe) is refused; C holds it: corestore 6 fails to open, nothing written.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const Hypercore = require('hc10')
const Corestore = require('cs6')

function probeBin () {
  const b = path.join(process.env.HC_BUILD || '', 'tests', 'test_lock_ofd')
  if (!fs.existsSync(b)) throw new Error('lock probe not built: ' + b)
  return b
}

// Runs the probe on `file`; resolves with its first line and a release() function.
async function probe (file) {
  const { spawn } = require('node:child_process')
  const p = spawn(probeBin(), ['--hold', file], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  const line = await u.withTimeout(new Promise((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    p.on('error', reject)
    p.on('close', (code) => resolve(out.split('\n')[0] || 'exited ' + code))
  }), 10000, 'lock probe')
  const exited = new Promise((resolve) => p.on('close', resolve))
  return {
    line,
    async release () { p.stdin.end(); await u.withTimeout(exited, 10000, 'probe exit') }
  }
}

function sameFiles (dir, before, label) {
  const after = h.readDirFiles(dir)
  assert.deepStrictEqual(Object.keys(after), Object.keys(before), `${label}: files`)
  for (const k of Object.keys(before)) h.assertBuf(after[k], before[k], `${label}: ${k}`)
}

async function jsWriterHoldsCore (root) {
  const dir = path.join(root, 'js-holds')
  h.cli(['create', dir])
  h.cli(['append', dir, 'a', 'b', 'c'])
  const js = new Hypercore(dir)
  await js.ready()
  assert.strictEqual(js.length, 3)
  assert.ok(js.writable, 'JS opened the C core writable')
  const before = h.readDirFiles(dir)
  const r = await u.cliErr(['append', dir, 'x'], /locked/i, undefined, 'C append while JS holds the core')
  sameFiles(dir, before, 'C append refused')
  await u.cliErr(['truncate', dir, '1'], /locked/i, undefined, 'C truncate while JS holds the core')
  sameFiles(dir, before, 'C truncate refused')
  h.step(`JS 10.38.2 writer holds the core: C append/truncate refused (${r.stderr.trim()}), nothing written`)

  assert.strictEqual(Number(h.info(dir).length), 3)
  h.assertBuf(h.cli(['cat', dir]), Buffer.from('abc'), 'C cat while JS holds it')
  h.verifyOk(dir, 'C verify while JS holds it')
  await js.append(Buffer.from('d'))
  await js.close()
  h.step('C read-only commands work while JS holds the core (no lock needed, as JS readers)')

  assert.strictEqual(h.cliText(['append', dir, 'e']), '5')
  const again = new Hypercore(dir)
  await again.ready()
  assert.strictEqual(again.length, 5)
  h.assertBuf(await again.get(4), Buffer.from('e'), 'JS reads C append')
  await again.close()
  h.step('after JS closed, C appends; JS reads it')
}

async function cWriterHoldsCore (root) {
  const dir = path.join(root, 'c-holds')
  h.cli(['create', dir])
  h.cli(['append', dir, 'one', 'two'])
  const server = await u.startCServer(dir, { stdin: true })
  try {
    const before = h.readDirFiles(dir)
    const js = new Hypercore(dir)
    await assert.rejects(js.ready(), (err) => /ELOCKED|locked/i.test(String(err && (err.code || err.message))), 'JS ready() must fail while C holds the core')
    await js.close().catch(() => {})
    sameFiles(dir, before, 'JS open refused')
    h.step('C holds the core (serve --stdin): JS 10.38.2 writer open fails with ELOCKED, nothing written')

    const ro = new Hypercore(dir, { unlocked: true })
    await ro.ready()
    assert.strictEqual(ro.length, 2)
    h.assertBuf(await ro.get(1), Buffer.from('two'), 'JS unlocked session read')
    await ro.close()
    h.step('a JS unlocked (read-only) session reads the core C holds')
    assert.strictEqual(await server.append('three'), 3)
  } finally {
    await server.stop()
  }
  const js = new Hypercore(dir)
  await js.ready()
  assert.strictEqual(js.length, 3)
  await js.append(Buffer.from('four'))
  await js.close()
  assert.strictEqual(Number(h.info(dir).length), 4)
  h.step('after C exits, JS opens it writable and appends; C reads it')
}

async function storeLocks (root) {
  const dir = path.join(root, 'store')
  const store = new Corestore(dir)
  await store.ready()
  const core = store.get({ name: 'a' })
  await core.ready()
  await core.append(Buffer.from('x'))
  const pk = path.join(dir, 'primary-key')
  assert.ok(fs.existsSync(pk), 'corestore 6 wrote primary-key')
  const pkBytes = fs.readFileSync(pk)
  const p1 = await probe(pk)
  await p1.release()
  assert.match(p1.line, /^refused .*LOCKED/, 'C primary-key lock while corestore 6 holds the store')
  await store.close()
  h.step(`corestore 6 holds the store: C's primary-key lock refused (${p1.line})`)

  const p2 = await probe(pk)
  try {
    assert.strictEqual(p2.line, 'locked', 'C takes the primary-key lock once corestore 6 closed')
    const s2 = new Corestore(dir)
    await assert.rejects((async () => {
      await s2.ready()
      const c = s2.get({ name: 'a' })
      await c.ready()
    })(), (err) => /ELOCKED|locked/i.test(String(err && (err.code || err.message))), 'corestore 6 must not open a store C holds')
    await s2.close().catch(() => {})
    h.assertBuf(fs.readFileSync(pk), pkBytes, 'primary-key unchanged')
  } finally {
    await p2.release()
  }
  h.step('C holds primary-key: corestore 6 fails with ELOCKED, primary-key unchanged')
  const s3 = new Corestore(dir)
  const c3 = s3.get({ name: 'a' })
  await c3.ready()
  assert.strictEqual(c3.length, 1)
  const dk = h.hex(c3.discoveryKey)
  const coreDir = path.join(dir, 'cores', dk.slice(0, 2), dk.slice(2, 4), dk)

  // a core of the store written directly by its directory: corestore 6 locks only
  // primary-key, so C must look there too
  const before = h.readDirFiles(coreDir)
  await u.cliErr(['append', coreDir, 'direct'], /locked/i, undefined, 'C append to a core of a store corestore 6 holds')
  sameFiles(coreDir, before, 'direct C append refused')
  assert.strictEqual(Number(h.info(coreDir).length), 1, 'C reads it meanwhile')
  await s3.close()
  h.step('corestore 6 holds the store: C append to one of its cores by directory refused, nothing written')

  const server = await u.startCServer(coreDir, { stdin: true })
  try {
    const s4 = new Corestore(dir)
    await assert.rejects((async () => {
      await s4.ready()
      const c = s4.get({ name: 'a' })
      await c.ready()
    })(), (err) => /ELOCKED|locked/i.test(String(err && (err.code || err.message))), 'corestore 6 must not open a store one of whose cores C writes')
    await s4.close().catch(() => {})
    assert.strictEqual(await server.append('from-c'), 2)
  } finally {
    await server.stop()
  }
  const s5 = new Corestore(dir)
  const c5 = s5.get({ name: 'a' })
  await c5.ready()
  assert.strictEqual(c5.length, 2)
  h.assertBuf(await c5.get(1), Buffer.from('from-c'), 'corestore 6 reads the C append')
  await s5.close()
  h.step('C writes a core of the store by directory: corestore 6 cannot open the store (ELOCKED); afterwards it reads the append')
}

h.main(async () => {
  const root = h.tmpdir('hc-locks-')
  await jsWriterHoldsCore(root)
  await cWriterHoldsCore(root)
  await storeLocks(root)
})
