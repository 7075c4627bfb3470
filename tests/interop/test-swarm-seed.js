'use strict'
// `hypercore seed STORE KEY... --swarm` on a hyperdht testnet bound to 127.0.0.1: a JS
// hyperdrive 11.13.4 writer (corestore 6) announces its db and blobs cores on the swarm; the C
// seeder finds it by the keys it follows, downloads both cores (verified); the writer goes
// away; a JS hyperdrive reader (corestore 6) on the swarm finds the C seeder and reads every
// file byte for byte. The seeder also announces every core already in its store, and exits 0
// on SIGTERM.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const { loopbackTestnet, jsSwarm } = require('./lib/swarm-util')

const RAM = require('random-access-memory')
const Corestore6 = require('cs6')
const Hyperdrive = require('hyperdrive')

async function startSeed (store, keys, bootstrap) {
  const hd = u.spawnC(['seed', store, ...keys, '--listen', u.HOST + ':0', '--swarm', '--bootstrap', bootstrap])
  await hd.waitLine(/^port (\d+)$/, 30000)
  return {
    hd,
    synced (key, length, ms = 60000) {
      return hd.waitLine(new RegExp(`^synced ${key} (\\d+)$`), ms).then(async function again (m) {
        if (Number(m[1]) >= length) return Number(m[1])
        const from = hd.lines.findIndex(l => l === m[0]) + 1
        return hd.waitLine(new RegExp(`^synced ${key} (\\d+)$`), ms, from).then(again)
      })
    },
    async stop () {
      hd.kill('SIGTERM')
      const r = await u.waitExit(hd, 15000, 'seed --swarm')
      if (r.status !== 0) throw new assert.AssertionError({ message: `\`${hd.cmd}\` exited ${r.status} on SIGTERM; stderr: ${r.stderr.trim().slice(0, 2000)}` })
      return r
    }
  }
}

h.main(async () => {
  const root = h.tmpdir('hc-swarm-seed-')
  const { testnet, bootstrap } = await loopbackTestnet(3)
  try {
    const wstore = new Corestore6(path.join(root, 'drive-writer'))
    const drive = new Hyperdrive(wstore)
    await drive.ready()
    const files = [
      ['/empty', Buffer.alloc(0)],
      ['/one', Buffer.from('1')],
      ['/docs/readme.md', Buffer.from('# hello from hyperdrive over hyperswarm\n')],
      ['/blob-100k', h.bytes(100 * 1024, 1)],
      ['/deep/dir/blob-2m', h.bytes(2 * 1024 * 1024 + 17, 3)]
    ]
    for (const [p, b] of files) await drive.put(p, b)
    const blobs = await drive.getBlobs()
    const dbKey = h.hex(drive.key)
    const blobsKey = h.hex(blobs.core.key)
    const dbLen = drive.core.length
    const blobsLen = blobs.core.length
    const wswarm = jsSwarm(testnet)
    wswarm.on('connection', (c) => wstore.replicate(c))
    await wswarm.join(drive.discoveryKey, { server: true, client: false }).flushed()
    await wswarm.join(blobs.core.discoveryKey, { server: true, client: false }).flushed()

    const seedDir = path.join(root, 'seed-store')
    const seed = await startSeed(seedDir, [dbKey, blobsKey], bootstrap)
    try {
      await seed.synced(dbKey, dbLen)
      await seed.synced(blobsKey, blobsLen)
      assert.match(seed.hd.stderr(), /seed: swarm: connected to [0-9a-f]{16}/, 'the seeder shows the connection')
      h.step(`C seed --swarm found the JS writer and cloned the drive: db ${dbLen} blocks, blobs ${blobsLen} blocks`)
      await wswarm.destroy()
      await drive.close()
      await wstore.close()

      const rstore = new Corestore6(RAM)
      const rswarm = jsSwarm(testnet)
      rswarm.on('connection', (c) => rstore.replicate(c))
      try {
        const reader = new Hyperdrive(rstore, Buffer.from(dbKey, 'hex'))
        await reader.ready()
        rswarm.join(reader.discoveryKey, { server: false, client: true })
        await u.withTimeout(rswarm.flush(), 30000, 'reader lookup')
        await u.until(async () => {
          await reader.update({ wait: true })
          return reader.version > 1
        }, 30000, 'drive reader sees the drive')
        const listed = []
        for await (const e of reader.list('/', { recursive: true })) listed.push(e.key)
        assert.deepStrictEqual(listed.sort(), files.map(f => f[0]).sort(), 'drive listing')
        for (const [p, b] of files) {
          const got = await u.withTimeout(reader.get(p), 30000, 'drive get ' + p)
          assert.ok(got !== null, `${p}: missing`)
          h.assertBuf(got, b, `drive ${p}`)
        }
        await reader.close()
        h.step(`JS hyperdrive 11.13.4 reader on the swarm read ${files.length} files through the C seeder, writer gone`)
      } finally {
        await rswarm.destroy()
        await rstore.close()
      }
    } finally {
      await wswarm.destroy().catch(() => {})
      await seed.stop()
    }

    // a second run of the seeder announces the cores already in its store (no KEY given)
    const again = await startSeed(seedDir, [], bootstrap)
    try {
      const joined = new Set()
      await u.until(async () => {
        for (const l of again.hd.lines) { const m = l.match(/^joined ([0-9a-f]{64})$/); if (m) joined.add(m[1]) }
        return joined.size >= 2
      }, 30000, 'the stored cores are announced')
      const r2store = new Corestore6(RAM)
      const core = r2store.get({ key: Buffer.from(blobsKey, 'hex') })
      await core.ready()
      assert.ok(joined.has(h.hex(core.discoveryKey)), 'the blobs core is announced')
      const s2 = jsSwarm(testnet)
      s2.on('connection', (c) => r2store.replicate(c))
      try {
        s2.join(core.discoveryKey, { server: false, client: true })
        await u.withTimeout(s2.flush(), 30000, 'lookup of a stored core')
        await u.until(async () => { await core.update({ wait: true }); return core.length === blobsLen }, 30000, 'stored core found')
        const last = await u.withTimeout(core.get(blobsLen - 1), 10000, 'a block of the stored core')
        assert.ok(last && last.length > 0, 'a block of the stored core')
      } finally {
        await s2.destroy()
        await r2store.close()
      }
      h.step('a restarted seeder with no KEY announces every core of its store; a JS peer finds and reads one')
    } finally {
      await again.stop()
    }
  } finally {
    await testnet.destroy()
  }
})
