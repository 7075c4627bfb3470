'use strict'
// Full replication over TCP (127.0.0.1), both directions, against hypercore 10 and 11:
//  - a JS writer serves (batches with empty, tiny, 1 MiB blocks, an empty batch); the C CLI
//    clones everything: same length, fork, tree hash, every block; `hypercore verify` passes.
//  - the C CLI serves (`hypercore serve`); a JS reader downloads everything: same blocks, same
//    tree hash, JS's own storage audit is clean.

const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

async function jsToC (v, root) {
  const label = `${v} JS writer -> C clone`
  const writer = await u.jsCore(v)
  const blocks = await u.jsAppendBatches(writer, u.testBatches(v === 'v10' ? 1 : 2))
  const srv = await u.jsServe(writer)
  try {
    const dir = path.join(root, v + '-c-clone')
    const key = h.hex(writer.key)
    const r = await u.cliOk(['clone', key, dir, '--connect', srv.connect], { timeout: 45000 })
    h.step(`${label}: cloned ${blocks.length} blocks`)
    await u.cMatchesJs(dir, writer, label)
    h.checkBlocks(dir, blocks, label)
    h.verifyOk(dir, label)
    const inf = h.info(dir)
    h.assertState(inf, { contiguousLength: blocks.length }, label)
    // a second clone into the same dir is a no-op that still succeeds
    await u.cliOk(['clone', key, dir, '--connect', srv.connect], { timeout: 20000 })
    h.assertState(h.info(dir), { length: blocks.length }, label + ' (re-clone)')
    void r
    h.step(`${label}: length, fork, tree hash, every block and verify OK`)
  } finally {
    await srv.close()
    await writer.close()
  }
}

async function cToJs (v, root, cdir, blocks, server) {
  const label = `${v} C serve -> JS clone`
  const reader = await u.jsCore(v, server.key)
  const conn = await u.jsConnect(reader, server.port)
  try {
    await u.withTimeout((async () => {
      await reader.update({ wait: true })
      await reader.download({ start: 0, end: reader.length }).done()
    })(), 30000, label)
    const cinfo = h.info(cdir)
    h.assertState({ length: reader.length, fork: reader.fork, treeHash: h.hex(await reader.treeHash()) },
      { length: cinfo.length, fork: cinfo.fork, treeHash: cinfo.treeHash }, label + ' (JS vs C writer)')
    await u.jsCheckBlocks(reader, blocks, label)
    await u.jsAudit(v, reader, label)
    h.step(`${label}: ${blocks.length} blocks, tree hash, audit OK`)
  } finally {
    conn.close()
    await reader.close()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-repl-full-')
  for (const v of u.VERSIONS) await jsToC(v, root)

  // one C writer, served once, cloned by both JS versions (one after the other)
  const cdir = path.join(root, 'c-writer')
  h.cli(['create', cdir])
  const blocks = u.cAppendBatches(cdir, u.testBatches(3))
  h.verifyOk(cdir, 'C writer')
  const server = await u.startCServer(cdir)
  try {
    for (const v of u.VERSIONS) await cToJs(v, root, cdir, blocks, server)
    // and C -> C over TCP for good measure
    const dir = path.join(root, 'c-c-clone')
    await u.cliOk(['clone', server.key, dir, '--connect', server.connect])
    h.assertState(h.info(dir), { length: blocks.length, treeHash: h.info(cdir).treeHash }, 'C -> C clone')
    h.checkBlocks(dir, blocks, 'C -> C clone')
    h.verifyOk(dir, 'C -> C clone')
    h.step('C serve -> C clone OK')
  } finally {
    await server.stop()
  }
})
