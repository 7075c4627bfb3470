'use strict'
// Live replication over TCP, hypercore 10 and 11: the writer appends while the reader is
// connected; the reader sees the new length and the new blocks within a second.
//  - C writer (`hypercore serve --stdin`, one block per line) -> JS reader (core.on('append')).
//  - JS writer -> C reader (`hypercore clone --live`), observed with read-only `hypercore info`
//    and `get` on the clone's directory while the clone process runs.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const ROUNDS = 5
const LIMIT_MS = 1000

async function cWriterJsReader (v, root) {
  const label = `${v} C serve --stdin -> JS reader`
  const cdir = path.join(root, v + '-c-writer')
  h.cli(['create', cdir])
  h.cli(['append', cdir, 'first', 'second'])
  const server = await u.startCServer(cdir, { stdin: true })
  const reader = await u.jsCore(v, server.key)
  const conn = await u.jsConnect(reader, server.port)
  try {
    await u.withTimeout(reader.update({ wait: true }), 10000, label + ' initial update')
    assert.strictEqual(reader.length, 2, label + ': initial length')
    reader.download({ start: 0, end: -1 }) // keep everything, live
    let appends = 0
    reader.on('append', () => { appends++ })
    const lines = ['first', 'second']
    for (let k = 0; k < ROUNDS; k++) {
      const line = `live block ${k} ` + 'z'.repeat(k * 100)
      const t0 = Date.now()
      const len = await server.append(line)
      lines.push(line)
      assert.strictEqual(len, lines.length, label + ': serve printed the new length')
      await u.until(async () => reader.length === len, LIMIT_MS, `${label}: JS length ${len}`, 5)
      const got = await u.withTimeout(reader.get(len - 1), LIMIT_MS, `${label}: JS get(${len - 1})`)
      h.assertBuf(got, Buffer.from(line), `${label}: block ${len - 1}`)
      const dt = Date.now() - t0
      assert.ok(dt <= LIMIT_MS + 200, `${label}: took ${dt} ms`)
    }
    assert.ok(appends >= ROUNDS, `${label}: 'append' fired ${appends} times`)
    await u.jsCheckBlocks(reader, lines.map(l => Buffer.from(l)), label)
    const ci = h.info(cdir)
    assert.strictEqual(h.hex(await reader.treeHash()), ci.treeHash, label + ': tree hash')
    h.step(`${label}: ${ROUNDS} live appends seen (length, block, tree hash)`)
  } finally {
    conn.close()
    await reader.close()
    await server.stop()
  }
}

async function jsWriterCReader (v, root) {
  const label = `${v} JS writer -> C clone --live`
  const writer = await u.jsCore(v)
  const blocks = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]
  await writer.append(blocks)
  const srv = await u.jsServe(writer)
  const dir = path.join(root, v + '-c-live')
  const key = h.hex(writer.key)
  const clone = u.spawnC(['clone', key, dir, '--connect', srv.connect, '--live'])
  try {
    const cinfo = async () => {
      const r = await u.runC(['info', dir, '--json'])
      if (r.status !== 0) return null
      return JSON.parse(r.stdout.toString())
    }
    await u.until(async () => { const i = await cinfo(); return i && Number(i.length) === 3 && Number(i.contiguousLength) === 3 }, 10000, label + ' initial clone')
    for (let k = 0; k < ROUNDS; k++) {
      const batch = k === 2 ? [h.bytes(200000, k), Buffer.from('and a small one')] : [Buffer.from(`live ${k}`)]
      const t0 = Date.now()
      await writer.append(batch)
      blocks.push(...batch)
      const want = blocks.length
      await u.until(async () => { const i = await cinfo(); return i && Number(i.length) === want && Number(i.contiguousLength) === want }, LIMIT_MS, `${label}: C length ${want}`, 10)
      for (let i = want - batch.length; i < want; i++) {
        h.assertBuf(h.cli(['get', dir, i]), blocks[i], `${label}: block ${i}`)
      }
      const dt = Date.now() - t0
      assert.ok(dt <= LIMIT_MS + 300, `${label}: took ${dt} ms`)
    }
    const i = await cinfo()
    assert.strictEqual(i.treeHash.toLowerCase(), h.hex(await writer.treeHash()), label + ': tree hash (while running)')
    // the live clone keeps running until the writer goes away
    assert.strictEqual(clone.proc.exitCode, null, label + ': clone --live exited early: ' + clone.stderr())
    await srv.close()
    const r = await u.waitExit(clone, 10000, label)
    assert.strictEqual(r.status, 0, `${label}: clone --live after the writer closed: ${r.stderr}`)
    h.checkBlocks(dir, blocks, label)
    h.verifyOk(dir, label)
    h.assertState(h.info(dir), { length: blocks.length, treeHash: h.hex(await writer.treeHash()) }, label)
    h.step(`${label}: ${ROUNDS} live appends seen via info/get; verify after exit (exit ${r.status}: ${r.stderr.trim().split('\n').pop()})`)
  } finally {
    clone.kill('SIGKILL')
    await srv.close().catch(() => {})
    await writer.close()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-repl-live-')
  for (const v of u.VERSIONS) await cWriterJsReader(v, root)
  for (const v of u.VERSIONS) await jsWriterCReader(v, root)
})
