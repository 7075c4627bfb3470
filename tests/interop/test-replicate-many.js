'use strict'
// One C server (`hypercore serve`), 8 concurrent clients over TCP: 4 C clone processes,
// 2 JS hypercore 10 readers, 2 JS hypercore 11 readers. All complete, all verify, and the
// server keeps serving (a ninth, later clone works too).

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

h.main(async () => {
  const root = h.tmpdir('hc-repl-many-')
  const cdir = path.join(root, 'writer')
  h.cli(['create', cdir])
  const blocks = []
  for (let i = 0; i < 1500; i++) blocks.push(i % 300 === 1 ? h.bytes(512 * 1024, i) : h.bytes(100 + (i * 7) % 2000, i))
  u.cAppendBatches(cdir, [blocks.slice(0, 700), blocks.slice(700)])
  const ci = h.info(cdir)
  const server = await u.startCServer(cdir)
  const readers = []
  const conns = []
  try {
    const t0 = Date.now()
    const cDirs = [0, 1, 2, 3].map(i => path.join(root, 'c' + i))
    const cJobs = cDirs.map(d => u.cliOk(['clone', server.key, d, '--connect', server.connect], { timeout: 50000 }))
    const jsJobs = []
    for (const v of ['v10', 'v10', 'v11', 'v11']) {
      const r = await u.jsCore(v, server.key)
      readers.push([v, r])
      conns.push(await u.jsConnect(r, server.port))
      jsJobs.push((async () => {
        await r.update({ wait: true })
        await r.download({ start: 0, end: r.length }).done()
      })())
    }
    await u.withTimeout(Promise.all([...cJobs, ...jsJobs]), 50000, '8 concurrent clients')
    h.step(`8 concurrent clients done in ${Date.now() - t0} ms`)

    for (const [i, d] of cDirs.entries()) {
      h.assertState(h.info(d), { length: ci.length, fork: ci.fork, treeHash: ci.treeHash, contiguousLength: ci.length, byteLength: ci.byteLength }, `C clone ${i}`)
      h.verifyOk(d, `C clone ${i}`)
      h.assertBuf(h.cli(['cat', d]), Buffer.concat(blocks), `C clone ${i}: cat`)
    }
    for (const [k, [v, r]] of readers.entries()) {
      const label = `JS ${v} reader ${k}`
      assert.strictEqual(r.length, ci.length, label + ': length')
      assert.strictEqual(h.hex(await r.treeHash()), ci.treeHash, label + ': tree hash')
      await u.jsCheckBlocks(r, blocks, label)
      await u.jsAudit(v, r, label)
    }
    h.step('4 C clones verify; 4 JS readers have every block, same tree hash, clean audit')

    for (const c of conns.splice(0)) c.close()
    const late = path.join(root, 'late')
    await u.cliOk(['clone', server.key, late, '--connect', server.connect])
    h.assertState(h.info(late), { length: ci.length, treeHash: ci.treeHash }, 'late clone')
    h.verifyOk(late, 'late clone')
    h.step('a later clone works after the others disconnected')
  } finally {
    for (const c of conns) c.close()
    for (const [, r] of readers) await r.close()
    await server.stop()
  }
})
