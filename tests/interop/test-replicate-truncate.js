'use strict'
// Truncation (fork change) under replication over TCP, hypercore 10 and 11: the writer
// truncates and appends while a reader is connected; the connected reader, a stale reader
// (cloned before the truncation, reconnecting later) and a fresh reader all end at the
// writer's new state: length, fork, tree hash, blocks.
//  - JS writer -> C readers (`clone --live` connected; `clone` stale and fresh).
//  - C writer (`serve --stdin`, "!truncate N" lines) -> JS readers (connected, stale, fresh).

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const blk = (tag, i) => Buffer.from(`${tag} block ${i} ` + 'q'.repeat(i % 11))

async function jsWriterCReaders (v, root) {
  const label = `${v} JS writer -> C readers`
  const writer = await u.jsCore(v)
  const blocks = Array.from({ length: 20 }, (_, i) => blk('old', i))
  await writer.append(blocks)
  const srv = await u.jsServe(writer)
  const key = h.hex(writer.key)
  const live = path.join(root, v + '-live')
  const stale = path.join(root, v + '-stale')
  const fresh = path.join(root, v + '-fresh')
  const clone = u.spawnC(['clone', key, live, '--connect', srv.connect, '--live'])
  try {
    await u.cliOk(['clone', key, stale, '--connect', srv.connect])
    h.assertState(h.info(stale), { length: 20, fork: 0 }, label + ' stale before')
    const cinfo = async (dir) => {
      const r = await u.runC(['info', dir, '--json'])
      return r.status === 0 ? JSON.parse(r.stdout.toString()) : null
    }
    await u.until(async () => { const i = await cinfo(live); return i && Number(i.contiguousLength) === 20 }, 10000, label + ' live initial')

    await writer.truncate(12)
    const added = Array.from({ length: 5 }, (_, i) => blk('new', 12 + i))
    await writer.append(added)
    const now = blocks.slice(0, 12).concat(added)
    const st = await u.jsStateOf(writer)
    assert.strictEqual(st.fork, 1, label + ': JS fork after truncate')
    const want = { length: now.length, fork: st.fork, treeHash: st.treeHash }

    await u.until(async () => {
      const i = await cinfo(live)
      return i && Number(i.fork) === want.fork && Number(i.length) === want.length && Number(i.contiguousLength) === want.length
    }, 5000, `${label}: connected C reader reaches fork ${want.fork} length ${want.length}`)
    h.assertState(h.info(live), want, label + ' connected reader')
    h.step(`${label}: connected reader followed truncate(12)+append(5)`)

    // the stale reader (length 20, fork 0) finds the exact fork point by asking the JS writer
    // for hashes (its first root differs): it keeps blocks 0-11 and downloads only the 5 new
    const rs = await u.runC(['clone', key, stale, '--connect', srv.connect])
    assert.strictEqual(rs.status, 0, `${label} stale clone: ${rs.stderr}`)
    assert.match(rs.stderr, /cloned 5 blocks, .*length 17, fork 1/, `${label} stale reader downloads only the new blocks`)
    await u.cliOk(['clone', key, fresh, '--connect', srv.connect])
    for (const [name, dir] of [['stale', stale], ['fresh', fresh]]) {
      h.assertState(h.info(dir), { ...want, contiguousLength: want.length }, `${label} ${name} reader`)
      h.checkBlocks(dir, now, `${label} ${name} reader`)
      h.verifyOk(dir, `${label} ${name} reader`)
    }
    h.step(`${label}: stale and fresh readers at the new state`)

    await srv.close()
    await u.waitExit(clone, 10000, label)
    h.assertState(h.info(live), { ...want, contiguousLength: want.length }, label + ' connected reader after exit')
    h.checkBlocks(live, now, label + ' connected reader')
    h.verifyOk(live, label + ' connected reader')
    h.step(`${label}: connected reader verified after exit`)
  } finally {
    clone.kill('SIGKILL')
    await srv.close().catch(() => {})
    await writer.close()
  }
}

async function cWriterJsReaders (v, root) {
  const label = `${v} C writer -> JS readers`
  const cdir = path.join(root, v + '-cwriter')
  h.cli(['create', cdir])
  const blocks = Array.from({ length: 20 }, (_, i) => blk('old', i))
  h.cli(['append', cdir, ...blocks.map(b => b.toString())])
  const server = await u.startCServer(cdir, { stdin: true })
  const connected = await u.jsCore(v, server.key)
  const stale = await u.jsCore(v, server.key)
  const conns = []
  try {
    conns.push(await u.jsConnect(connected, server.port))
    const cs = await u.jsConnect(stale, server.port)
    await u.withTimeout((async () => {
      for (const r of [connected, stale]) {
        await r.update({ wait: true })
        await r.download({ start: 0, end: r.length }).done()
      }
    })(), 10000, label + ' initial')
    cs.close()
    connected.download({ start: 0, end: -1 })
    let truncated = 0
    connected.on('truncate', () => { truncated++ })

    const tr = await server.command('!truncate 12', /^truncated (\d+) (\d+)$/)
    assert.deepStrictEqual([Number(tr[1]), Number(tr[2])], [12, 1], label + ': serve truncated')
    const added = []
    for (let i = 0; i < 5; i++) {
      const b = blk('new', 12 + i)
      assert.strictEqual(await server.append(b.toString()), 13 + i)
      added.push(b)
    }
    const now = blocks.slice(0, 12).concat(added)
    const ci = h.info(cdir)
    const want = { length: now.length, fork: 1, treeHash: ci.treeHash }
    assert.strictEqual(ci.fork, 1)

    const check = async (r, name) => {
      await u.until(async () => r.fork === want.fork && r.length === want.length, 5000, `${label}: ${name} reader reaches fork 1 length ${want.length}`)
      await u.withTimeout(r.download({ start: 0, end: want.length }).done(), 5000, `${label}: ${name} download`)
      assert.deepStrictEqual(await u.jsStateOf(r), want, `${label}: ${name} reader state`)
      await u.jsCheckBlocks(r, now, `${label}: ${name} reader`)
      await u.jsAudit(v, r, `${label}: ${name} reader`)
    }
    await check(connected, 'connected')
    assert.ok(truncated >= 1, label + ": connected reader saw no 'truncate' event")
    h.step(`${label}: connected reader followed !truncate 12 + 5 appends`)

    conns.push(await u.jsConnect(stale, server.port))
    await check(stale, 'stale')
    const fresh = await u.jsCore(v, server.key)
    try {
      conns.push(await u.jsConnect(fresh, server.port))
      await u.withTimeout(fresh.update({ wait: true }), 5000, label + ' fresh update')
      await check(fresh, 'fresh')
    } finally {
      for (const c of conns.splice(0)) c.close()
      await fresh.close()
    }
    h.step(`${label}: stale and fresh readers at the new state`)
  } finally {
    for (const c of conns) c.close()
    await connected.close()
    await stale.close()
    await server.stop()
  }
}

async function cWriterCReader (root) {
  const label = 'C writer -> C clone --live'
  const cdir = path.join(root, 'c2c-writer')
  h.cli(['create', cdir])
  const blocks = Array.from({ length: 20 }, (_, i) => blk('old', i))
  h.cli(['append', cdir, ...blocks.map(b => b.toString())])
  const server = await u.startCServer(cdir, { stdin: true })
  const live = path.join(root, 'c2c-live')
  const clone = u.spawnC(['clone', server.key, live, '--connect', server.connect, '--live'])
  try {
    const cinfo = async () => {
      const r = await u.runC(['info', live, '--json'])
      return r.status === 0 ? JSON.parse(r.stdout.toString()) : null
    }
    await u.until(async () => { const i = await cinfo(); return i && Number(i.contiguousLength) === 20 }, 10000, label + ' initial')
    await server.command('!truncate 12', /^truncated 12 1$/)
    const now = blocks.slice(0, 12)
    for (let i = 0; i < 5; i++) { now.push(blk('new', 12 + i)); await server.append(now[now.length - 1].toString()) }
    const want = { length: now.length, fork: 1, treeHash: h.info(cdir).treeHash }
    await u.until(async () => {
      const i = await cinfo()
      return i && Number(i.fork) === 1 && Number(i.contiguousLength) === now.length
    }, 5000, `${label}: reaches fork 1 length ${now.length}`)
    await server.stop()
    const r = await u.waitExit(clone, 10000, label)
    assert.strictEqual(r.status, 0, `${label}: exit after the writer went away: ${r.stderr}`)
    h.assertState(h.info(live), want, label)
    h.checkBlocks(live, now, label)
    h.verifyOk(live, label)
    h.step(`${label}: followed !truncate 12 + 5 appends`)
  } finally {
    clone.kill('SIGKILL')
    await server.stop().catch(() => {})
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-repl-trunc-')
  for (const v of u.VERSIONS) await jsWriterCReaders(v, root)
  for (const v of u.VERSIONS) await cWriterJsReaders(v, root)
  await cWriterCReader(root)
})
