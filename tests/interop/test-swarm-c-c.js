'use strict'
// Hyperswarm discovery, C to C on a hyperdht testnet bound to 127.0.0.1:
//  - `serve --swarm` -> `clone --swarm`: every block, verified;
//  - both peers join as server and client (serve, and clone --live which also announces):
//    Hyperswarm keeps ONE connection between them; live appends flow over it; the writer
//    restarts: the live reader reconnects;
//  - the helper of a cloning process is killed mid-transfer: the process reports it,
//    restarts the helper, reconnects and completes the clone, everything verified;
//  - the cloning process itself is killed mid-transfer: nothing unverified is stored, and a
//    new clone into the same directory resumes and completes.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const { loopbackTestnet, startCSwarmServer, cConnections } = require('./lib/swarm-util')

// Contiguous blocks stored in a clone's directory so far (0 before the core exists).
function stored (dir) {
  try {
    return fs.existsSync(path.join(dir, 'oplog')) ? h.info(dir).contiguousLength : 0
  } catch {
    return 0 // being created
  }
}

// A C core of n blocks of ~1 KiB (one block per stdin line).
function bigCore (dir, n) {
  h.cli(['create', dir])
  const lines = []
  for (let i = 0; i < n; i++) lines.push(`block ${i} `.padEnd(1000, String.fromCharCode(97 + (i % 26))))
  h.cli(['append', dir], { input: lines.join('\n') + '\n' })
  return lines
}

async function cToC (root, bootstrap) {
  const label = 'C serve --swarm -> C clone --swarm'
  const wdir = path.join(root, 'writer')
  h.cli(['create', wdir])
  const blocks = u.cAppendBatches(wdir, u.testBatches(7))
  let server = await startCSwarmServer(wdir, bootstrap, { stdin: true })
  try {
    const dir = path.join(root, 'clone')
    const r = await u.runC(['clone', server.key, dir, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'], { timeout: 90000 })
    assert.strictEqual(r.status, 0, `${label}: exit ${r.status}; stderr: ${r.stderr}`)
    h.checkBlocks(dir, blocks, label)
    h.verifyOk(dir, label)
    assert.strictEqual(h.info(dir).treeHash, h.info(wdir).treeHash, label + ': tree hash')
    h.step(`${label}: ${blocks.length} blocks, verified`)
    // the swarm identity is kept: a second run uses the same public key
    const key1 = r.stderr.match(/public key ([0-9a-f]{16})/)[1]
    const r2 = await u.runC(['clone', server.key, dir, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'], { timeout: 90000 })
    assert.strictEqual(r2.status, 0, `${label} again: stderr: ${r2.stderr}`)
    assert.strictEqual(r2.stderr.match(/public key ([0-9a-f]{16})/)[1], key1, label + ': same swarm identity across runs')
    assert.ok(fs.statSync(path.join(dir, 'swarm.seed')).mode % 0o1000 === 0o600, label + ': swarm.seed is private')
    h.step(`${label}: the swarm identity persists in DIR/swarm.seed (0600)`)

    // both peers server and client: one connection
    const live = path.join(root, 'live')
    const reader = u.spawnC(['clone', server.key, live, '--swarm', '--live', '--bootstrap', bootstrap])
    await u.until(async () => stored(live) === blocks.length, 30000, label + ': live reader caught up')
    // hyperswarm may open a duplicate first and close it: settle, then hold for 2.5 s
    await u.until(async () => cConnections(server.handle.stderr()) === 1 && cConnections(reader.stderr()) === 1, 15000, label + ': one connection each side')
    await u.sleep(2500) // time for a second (duplicate) connection to appear, if any did
    assert.strictEqual(cConnections(server.handle.stderr()), 1, `${label}: server has one connection; stderr: ${server.handle.stderr()}`)
    assert.strictEqual(cConnections(reader.stderr()), 1, `${label}: live reader has one connection; stderr: ${reader.stderr()}`)
    h.step('both C peers join as server and client: one connection between them')
    for (let k = 0; k < 3; k++) {
      const len = await server.append('live line ' + k)
      const t0 = Date.now()
      await u.until(async () => h.info(live).length === len, 1000, `${label}: live length ${len} within 1 s`, 10)
      assert.ok(Date.now() - t0 <= 1200)
    }
    h.verifyOk(live, label + ' live')
    // a dropped connection: the writer stops and restarts (same identity); the live reader
    // reconnects and sees its next append
    await server.stop()
    const t0 = Date.now()
    server = await startCSwarmServer(wdir, bootstrap, { stdin: true })
    const len = await server.append('after the restart')
    await u.until(async () => stored(live) === len, 30000, `${label}: live reader reconnected`, 20)
    const reconnectMs = Date.now() - t0
    // the reader's stderr reaches us through a pipe, possibly after its blocks reached the disk
    const countConnects = () => (reader.stderr().match(/swarm: connected to/g) || []).length
    await u.until(async () => countConnects() >= 2, 5000, `${label}: the reader reports its new connection`).catch(() => {})
    const connects = countConnects()
    assert.ok(connects >= 2, `${label}: the reader shows a new connection (${connects}); stderr: ${reader.stderr()}`)
    h.step(`the writer restarted: the live reader reconnected and had its append after ${reconnectMs} ms`)
    reader.kill('SIGTERM')
    const rr = await u.waitExit(reader, 15000, 'clone --live')
    assert.strictEqual(rr.status, 0, `clone --live on SIGTERM: exit ${rr.status}; stderr: ${rr.stderr}`)
    h.step('C -> C live appends seen within 1 s; clone --live exits 0 on SIGTERM')
  } finally {
    await server.stop()
  }
}

async function helperKilled (root, bootstrap) {
  const label = 'helper killed mid-transfer'
  const wdir = path.join(root, 'big')
  const lines = bigCore(wdir, 30000)
  const server = await startCSwarmServer(wdir, bootstrap)
  try {
    // freeze the helper (SIGSTOP) as soon as the connection is up, check that the transfer is
    // under way and incomplete, then kill it (a transfer that won the race is retried)
    let hd, dir, have
    for (let attempt = 1; ; attempt++) {
      dir = path.join(root, 'big-clone-a' + attempt)
      hd = u.spawnC(['clone', server.key, dir, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'])
      await u.until(async () => /swarm: connected to/.test(hd.stderr()), 30000, label + ': connected', 2)
      const pid = Number(hd.stderr().match(/helper pid (\d+)/)[1])
      await u.until(async () => stored(dir) > 0 || hd.proc.exitCode !== null, 30000, label + ': first blocks', 1)
      process.kill(pid, 'SIGSTOP')
      await u.sleep(200)
      have = stored(dir)
      process.kill(pid, 'SIGKILL')
      if (have < lines.length) break
      await u.waitExit(hd, 90000, label)
      assert.ok(attempt < 3, label + ': the clone finished before the helper could be stopped, 3 times')
    }
    const r = await u.waitExit(hd, 90000, label)
    assert.strictEqual(r.status, 0, `${label}: exit ${r.status}; stderr: ${r.stderr}`)
    assert.match(r.stderr, /swarm helper exited \(signal 9\); restarting it \(1 of 5\)/, label + ': reported and restarted; stderr: ' + r.stderr)
    assert.match(r.stderr, /disconnected from [0-9a-f]{16}: swarm helper exited/, label + ': the connection it carried ended')
    const connects = (r.stderr.match(/swarm: connected to/g) || []).length
    assert.ok(connects >= 2, `${label}: reconnected (${connects} connections)`)
    h.verifyOk(dir, label)
    assert.strictEqual(h.info(dir).contiguousLength, lines.length, label + ': complete')
    assert.strictEqual(h.info(dir).treeHash, h.info(wdir).treeHash, label + ': tree hash')
    h.step(`${label}: killed with ${have} of ${lines.length} blocks stored; reported, helper restarted, reconnected, all verified`)

    // the cloning process killed mid-transfer; a new clone resumes
    const dir2 = path.join(root, 'big-clone-2')
    const hd2 = u.spawnC(['clone', server.key, dir2, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'])
    await u.until(async () => /swarm: connected to/.test(hd2.stderr()), 30000, label + ': second clone connected', 2)
    await u.until(async () => stored(dir2) > 0, 30000, label + ': second clone stored blocks', 1)
    hd2.kill('SIGKILL')
    await hd2.exited
    const helper2 = Number(hd2.stderr().match(/helper pid (\d+)/)[1])
    await u.until(async () => { try { process.kill(helper2, 0); return false } catch { return true } }, 10000, label + ': the orphaned helper exits')
    const partial = { contiguousLength: stored(dir2) }
    if (fs.existsSync(path.join(dir2, 'oplog'))) h.verifyOk(dir2, label + ' after SIGKILL')
    const r3 = await u.runC(['clone', server.key, dir2, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'], { timeout: 90000 })
    assert.strictEqual(r3.status, 0, `${label}: resumed clone exit ${r3.status}; stderr: ${r3.stderr}`)
    const got = Number(r3.stderr.match(/cloned (\d+) blocks/)[1])
    assert.strictEqual(got, lines.length - partial.contiguousLength, `${label}: the resumed clone downloaded only what was missing`)
    h.verifyOk(dir2, label + ' resumed')
    assert.strictEqual(h.info(dir2).treeHash, h.info(wdir).treeHash, label + ': resumed tree hash')
    h.step(`${label}: process killed with ${partial.contiguousLength} blocks stored (verified); the next clone fetched the other ${got}; the orphaned helper exited`)
  } finally {
    await server.stop()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-swarm-c-c-')
  const { testnet, bootstrap } = await loopbackTestnet(3)
  try {
    await cToC(root, bootstrap)
    await helperKilled(root, bootstrap)
  } finally {
    await testnet.destroy()
  }
})
