'use strict'
// Sparse replication over TCP, both directions, hypercore 10 and 11: a reader fetches a few
// scattered blocks (and one small range) only. C reader: `get --connect`, `clone --start --end`;
// afterwards the local copy has exactly those blocks (`get` without --connect fails "not
// available" for the rest, contiguousLength stays 0, verify passes). JS reader: get(i) and
// download(range); has(i) is false for every other block.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const N = 300
const PICKS = [299, 5, 77, 150, 151] // fetched one by one
const RANGE = [200, 210] // fetched as a range

function mkBlocks (seed) {
  return Array.from({ length: N }, (_, i) => i % 50 === 7 ? h.bytes(70000, seed * 1000 + i) : Buffer.from(`block ${i} of ${seed} ` + 'x'.repeat(i % 13)))
}

function expected (blocks) {
  const want = new Set(PICKS)
  for (let i = RANGE[0]; i < RANGE[1]; i++) want.add(i)
  return blocks.map((b, i) => want.has(i) ? b : null)
}

async function cReader (label, root, key, connect, blocks, stateOf) {
  const dir = path.join(root, label.replace(/\W+/g, '-'))
  h.cli(['create', dir, '--key', key])
  for (const i of PICKS) {
    const out = await u.cliOk(['get', dir, i, '--connect', connect, '--timeout', 20000])
    h.assertBuf(out, blocks[i], `${label}: get ${i} --connect`)
  }
  await u.cliOk(['clone', key, dir, '--connect', connect, '--start', RANGE[0], '--end', RANGE[1]])
  const st = await stateOf()
  const inf = h.info(dir)
  h.assertState(inf, { length: st.length, fork: st.fork, treeHash: st.treeHash, contiguousLength: 0 }, label)
  const exp = expected(blocks)
  for (let i = 0; i < N; i++) {
    if (exp[i] === null) {
      // only probe a sample of the missing ones (each is a process)
      if (i % 23 !== 0 && i !== RANGE[0] - 1 && i !== RANGE[1] && i !== 0) continue
      const r = h.cliFails(['get', dir, i], undefined, `${label}: block ${i} was never fetched`)
      assert.match(r.stderr, /not available/i, `${label}: get ${i} stderr`)
    } else {
      h.assertBuf(h.cli(['get', dir, i]), exp[i], `${label}: get ${i} (local)`)
    }
  }
  h.verifyOk(dir, label)
  // get --connect of a block already local does not need the peer
  h.assertBuf(await u.cliOk(['get', dir, PICKS[0], '--connect', '127.0.0.1:1']), blocks[PICKS[0]], `${label}: local get with a dead peer`)
  h.step(`${label}: ${PICKS.length} gets + range ${RANGE}, rest not local, verify OK`)
  return dir
}

async function jsReader (v, label, key, port, blocks, cdir) {
  const reader = await u.jsCore(v, key)
  const conn = await u.jsConnect(reader, port)
  try {
    await u.withTimeout((async () => {
      for (const i of PICKS) h.assertBuf(await reader.get(i), blocks[i], `${label}: JS get(${i})`)
      await reader.download({ start: RANGE[0], end: RANGE[1] }).done()
    })(), 30000, label)
    const cinfo = h.info(cdir)
    assert.strictEqual(reader.length, N, `${label}: JS length`)
    assert.strictEqual(h.hex(await reader.treeHash()), cinfo.treeHash, `${label}: tree hash`)
    assert.strictEqual(reader.contiguousLength, 0, `${label}: JS contiguousLength`)
    await u.jsCheckBlocks(reader, expected(blocks), label)
    h.step(`${label}: ${PICKS.length} gets + range ${RANGE}, has() false for the rest`)

    // the sparse JS reader serves what it has to a C reader (want/bitfield/range paths)
    conn.close()
    const srv = await u.jsServe(reader)
    try {
      const dir = path.join(h.tmpdir('hc-sparse-'), 'from-sparse')
      h.cli(['create', dir, '--key', key])
      await u.cliOk(['clone', key, dir, '--connect', srv.connect, '--start', RANGE[0], '--end', RANGE[1]])
      h.assertBuf(await u.cliOk(['get', dir, 77, '--connect', srv.connect]), blocks[77], `${label}: C get 77 from the sparse JS peer`)
      const miss = await u.runC(['get', dir, 3, '--connect', srv.connect, '--timeout', 1500])
      assert.strictEqual(miss.status, 1, `${label}: get of a block the sparse peer lacks: ${miss.stderr}`)
      assert.match(miss.stderr, /timed out waiting for block 3/, `${label}: get 3`)
      const want = expected(blocks).map((b, i) => (i >= RANGE[0] && i < RANGE[1]) || i === 77 ? b : null)
      h.assertState(h.info(dir), { length: N, treeHash: cinfo.treeHash, contiguousLength: 0 }, label + ' C from sparse JS')
      for (let i = 0; i < N; i++) {
        if (want[i]) h.assertBuf(h.cli(['get', dir, i]), want[i], `${label}: C from sparse JS: block ${i}`)
      }
      h.verifyOk(dir, label + ' C from sparse JS')
      h.step(`${label}: the sparse JS reader served range ${RANGE} and block 77 to C; a missing block times out`)
    } finally {
      await srv.close()
    }
  } finally {
    conn.close()
    await reader.close()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-repl-sparse-')
  for (const v of u.VERSIONS) {
    const writer = await u.jsCore(v)
    const blocks = mkBlocks(v === 'v10' ? 1 : 2)
    await writer.append(blocks)
    const srv = await u.jsServe(writer)
    try {
      await cReader(`${v} JS writer -> C sparse reader`, root, h.hex(writer.key), srv.connect, blocks, () => u.jsStateOf(writer))
    } finally {
      await srv.close()
      await writer.close()
    }
  }

  const cdir = path.join(root, 'c-writer')
  h.cli(['create', cdir])
  const blocks = mkBlocks(3)
  u.cAppendBatches(cdir, [blocks])
  const server = await u.startCServer(cdir)
  try {
    for (const v of u.VERSIONS) await jsReader(v, `${v} C writer -> JS sparse reader`, server.key, server.port, blocks, cdir)
    const ci = h.info(cdir)
    const sparseDir = await cReader('C writer -> C sparse reader', root, server.key, server.connect, blocks,
      async () => ({ length: ci.length, fork: ci.fork, treeHash: ci.treeHash }))
    await server.stop()

    // the sparse C reader serves what it has to JS readers
    const sparse = await u.startCServer(sparseDir)
    try {
      for (const v of u.VERSIONS) {
        const label = `${v} sparse C reader -> JS`
        const r = await u.jsCore(v, sparse.key)
        const conn = await u.jsConnect(r, sparse.port)
        try {
          await u.withTimeout((async () => {
            h.assertBuf(await r.get(77), blocks[77], label + ': get 77')
            await r.download({ start: RANGE[0], end: RANGE[1] }).done()
          })(), 10000, label)
          assert.strictEqual(r.length, N, label + ': length')
          assert.strictEqual(h.hex(await r.treeHash()), ci.treeHash, label + ': tree hash')
          await assert.rejects(r.get(3, { timeout: 500 }), /timeout|TIMEOUT/i, label + ': get of a block the C peer lacks')
          for (let i = RANGE[0]; i < RANGE[1]; i++) h.assertBuf(await r.get(i), blocks[i], `${label}: block ${i}`)
          assert.strictEqual(await r.has(0), false)
          h.step(`${label}: block 77 and range ${RANGE} from a sparse C peer; a missing block times out`)
        } finally {
          conn.close()
          await r.close()
        }
      }
    } finally {
      await sparse.stop()
    }
  } finally {
    await server.stop()
  }
})
