'use strict'
// Late and repeated channel opens against `hypercore serve` (issue 10, part 1).
// The C server opens its channel at the handshake; these JS peers have no core yet, so they
// reject it. Later, on the same connection, they open the core themselves: C must answer
// (protomux pairing, as the reference's replicator keeps its pair registered), and again after
// the JS side closed the core and re-opened it. A channel for a core the server does not have
// is rejected and the connection stays up.
//   - hypercore 10.38.2 and 11.37.1 on a raw protocol stream (Hypercore.createProtocolStream)
//   - corestore 6.18.4 and 7.12.5: store.replicate(conn) first, store.get(key) after

const assert = require('node:assert')
const net = require('node:net')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const RAM = require('random-access-memory')

async function connectStream (Hc, port) {
  const sock = net.connect(port, u.HOST)
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  const stream = Hc.createProtocolStream(true)
  u.pipeBoth(sock, stream)
  return { sock, stream }
}

// Waits for the handshake, then long enough for the server's own open to have been
// rejected by a side that has no core yet.
async function settle (stream) {
  const opened = await u.withTimeout(stream.noiseStream.opened, 10000, 'handshake')
  assert.ok(opened, 'secret stream opened')
  await u.sleep(300)
}

async function fetchAll (core, blocks, label) {
  await u.withTimeout(core.update({ wait: true }), 10000, label + ': update')
  assert.strictEqual(core.length, blocks.length, label + ': length after update')
  await u.withTimeout(core.download({ start: 0, end: core.length }).done(), 20000, label + ': download')
  await u.jsCheckBlocks(core, blocks, label)
}

function storageFor (v) {
  return v === 'v10' ? RAM : () => path.join(h.tmpdir('hc-late-'), 'core')
}

// A JS core (no data) for `key` on `stream`.
async function jsReplica (v, key, stream) {
  const Hc = u.Hc(v)
  const st = storageFor(v)
  const core = new Hc(typeof st === 'function' && v !== 'v10' ? st() : st, Buffer.from(key, 'hex'))
  await core.ready()
  core.replicate(stream)
  return core
}

async function rawCores (v, server, blocks) {
  const Hc = u.Hc(v)
  const { sock, stream } = await connectStream(Hc, server.port)
  try {
    await settle(stream)
    // a core the server does not have: rejected, and the connection stays up
    const stranger = await jsReplica(v, h.bytes(32, 99).toString('hex'), stream)
    await u.sleep(300)
    assert.strictEqual(stranger.peers.length, 0, `${v}: unknown core must not get a peer`)
    assert.ok(!sock.destroyed, `${v}: connection must stay up after a reject`)

    const a = await jsReplica(v, server.key, stream)
    await fetchAll(a, blocks, `${v} late open`)
    h.step(`${v}: rejected the server's open, opened later on the same connection, got ${blocks.length} blocks; an unknown core was rejected`)

    // close and re-open on the same connection (a fresh replica each time)
    for (let round = 1; round <= 2; round++) {
      await a.close()
      await u.sleep(100)
      const b = await jsReplica(v, server.key, stream)
      await fetchAll(b, blocks, `${v} re-open ${round}`)
      await b.close()
    }
    await stranger.close()
    assert.ok(!sock.destroyed, `${v}: connection still up`)
    h.step(`${v}: closed and re-opened the core twice on the same connection, every block each time`)
  } finally {
    stream.destroy()
    sock.destroy()
  }
}

async function corestoreReader (name, server, blocks) {
  const Corestore = require(name)
  const store = name === 'cs6' ? new Corestore(RAM) : new Corestore(path.join(h.tmpdir('hc-late-cs-'), 'store'))
  await store.ready()
  const sock = net.connect(server.port, u.HOST)
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  const stream = store.replicate(true)
  u.pipeBoth(sock, stream)
  try {
    await settle(stream)
    const core = store.get({ key: Buffer.from(server.key, 'hex') })
    await core.ready()
    await fetchAll(core, blocks, `${name} store.get after replicate`)
    assert.strictEqual(core.peers.length, 1, `${name}: one peer`)
    await core.close()
    await u.sleep(100)
    // re-open: a new session of the same key on the same connection
    const again = store.get({ key: Buffer.from(server.key, 'hex') })
    await again.ready()
    await u.withTimeout(again.update({ wait: true }), 10000, `${name} re-open: update`)
    await u.withTimeout(again.download({ start: 0, end: again.length }).done(), 20000, `${name} re-open`)
    await u.jsCheckBlocks(again, blocks, `${name} re-open`)
    await again.close()
    h.step(`${name}: store.get(key) after store.replicate(conn) gets all ${blocks.length} blocks; again after close`)
  } finally {
    stream.destroy()
    sock.destroy()
    await store.close()
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-late-open-')
  const cdir = path.join(root, 'core')
  h.cli(['create', cdir])
  const blocks = []
  for (let i = 0; i < 300; i++) blocks.push(h.bytes(50 + (i * 13) % 3000, i))
  blocks.push(h.bytes(300 * 1024, 7))
  u.cAppendBatches(cdir, [blocks.slice(0, 100), blocks.slice(100)])
  const server = await u.startCServer(cdir)
  try {
    for (const v of u.VERSIONS) await rawCores(v, server, blocks)
    for (const cs of ['cs6', 'cs7']) await corestoreReader(cs, server, blocks)
  } finally {
    await server.stop()
  }
})
