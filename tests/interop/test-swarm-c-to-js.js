'use strict'
// Hyperswarm discovery, C writer -> JS readers: `hypercore serve DIR --swarm --stdin`
// announces the core on a hyperdht testnet bound to 127.0.0.1; JS hyperswarm readers with
// hypercore 10.38.2 and 11.37.1 find it by discovery key and download every block; live: each
// line the C writer appends reaches the JS reader within a second. SIGTERM: exit 0.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const { loopbackTestnet, jsSwarm, startCSwarmServer, cConnections } = require('./lib/swarm-util')

const LIMIT_MS = 1000
const ROUNDS = 5

async function cWriterToJs (v, root, bootstrap, testnet) {
  const label = `${v} C serve --swarm -> JS reader on the swarm`
  const cdir = path.join(root, v + '-writer')
  h.cli(['create', cdir])
  const blocks = u.cAppendBatches(cdir, u.testBatches(v === 'v10' ? 5 : 6))
  const server = await startCSwarmServer(cdir, bootstrap, { stdin: true })
  assert.strictEqual(server.discoveryKey, h.info(cdir).discoveryKey, label + ': announced the discovery key')
  const reader = await u.jsCore(v, server.key)
  const swarm = jsSwarm(testnet)
  swarm.on('connection', (c) => reader.replicate(c))
  try {
    swarm.join(reader.discoveryKey, { server: false, client: true })
    await u.withTimeout(swarm.flush(), 30000, label + ' lookup')
    await u.until(async () => {
      await reader.update({ wait: true })
      return reader.length === blocks.length
    }, 30000, label + ': JS sees the length')
    await u.withTimeout(reader.download({ start: 0, end: blocks.length }).done(), 30000, label + ' download')
    await u.jsCheckBlocks(reader, blocks, label)
    await u.jsAudit(v, reader, label)
    await u.cMatchesJs(cdir, reader, label)
    h.step(`${label}: ${blocks.length} blocks downloaded and verified by JS`)

    reader.download({ start: 0, end: -1 }) // follow the writer
    const lines = []
    for (let k = 0; k < ROUNDS; k++) {
      const line = `live ${v} block ${k} ` + 'q'.repeat(k * 50)
      const t0 = Date.now()
      const len = await server.append(line)
      lines.push(line)
      assert.strictEqual(len, blocks.length + lines.length, label + ': new length')
      await u.until(async () => reader.length === len, LIMIT_MS, `${label}: JS length ${len} within ${LIMIT_MS} ms`, 5)
      const got = await u.withTimeout(reader.get(len - 1), LIMIT_MS, `${label}: JS get(${len - 1})`)
      h.assertBuf(got, Buffer.from(line), `${label}: live block ${len - 1}`)
      const dt = Date.now() - t0
      assert.ok(dt <= LIMIT_MS + 200, `${label}: live append took ${dt} ms`)
    }
    assert.strictEqual(h.hex(await reader.treeHash()), h.info(cdir).treeHash, label + ': tree hash after live appends')
    assert.strictEqual(cConnections(server.handle.stderr()), 1, label + ': one connection')
    h.step(`${label}: ${ROUNDS} live appends seen within ${LIMIT_MS} ms each`)
    // announced on the DHT while serving; SIGTERM unannounces (leave + swarm.destroy)
    assert.ok(await announcers(testnet, server.discoveryKey) >= 1, label + ': announced on the DHT')
  } finally {
    await swarm.destroy()
    await reader.close()
    const r = await server.stop()
    assert.match(r.stderr, /swarm: started/, label + ': started message')
  }
  assert.strictEqual(await announcers(testnet, server.discoveryKey), 0, label + ': no longer announced after SIGTERM')
  h.step(`${label}: SIGTERM -> exit 0, the topic is no longer announced on the DHT`)
}

// Peers a DHT lookup of the topic finds (announce records on the nodes closest to it).
async function announcers (testnet, dk) {
  const node = testnet.createNode()
  try {
    let n = 0
    for await (const r of node.lookup(Buffer.from(dk, 'hex'))) n += r.peers.length
    return n
  } finally {
    await node.destroy()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-swarm-c-js-')
  const { testnet, bootstrap } = await loopbackTestnet(3)
  try {
    for (const v of u.VERSIONS) await cWriterToJs(v, root, bootstrap, testnet)
  } finally {
    await testnet.destroy()
  }
})
