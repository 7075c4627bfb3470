'use strict'
// The JS side of the store benchmark (corestore 6.18.4 on hypercore 10.38.2, from the pinned
// tests/interop/node_modules): bench/store_run.js runs it next to bench_store / `hypercore
// seed`.
//   node bench_store.js list DIR    opens the store, opens every core in it (as corestore does
//                                   for a remote's discovery key) and reads key, length, name;
//                                   prints {"ms","count","blocks","rss_kb"}
//   node bench_store.js seed DIR    serves every core of the store to every TCP connection on
//                                   127.0.0.1 (store.replicate, cores opened on demand); prints
//                                   "port PORT"; SIGTERM stops it
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')

const NM = path.join(__dirname, '..', 'tests', 'interop', 'node_modules')
const Corestore = require(path.join(NM, 'cs6'))

function rssKb () {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) : -1
}

async function list (dir) {
  const t0 = process.hrtime.bigint()
  const store = new Corestore(dir)
  await store.ready()
  let count = 0
  let blocks = 0
  const root = path.join(dir, 'cores')
  for (const a of fs.readdirSync(root).sort()) {
    for (const b of fs.readdirSync(path.join(root, a)).sort()) {
      for (const id of fs.readdirSync(path.join(root, a, b)).sort()) {
        const core = store.get({ _discoveryKey: Buffer.from(id, 'hex'), active: false })
        await core.ready()
        const name = await core.getUserData('corestore/name')
        if (!core.key) throw new Error('no key for ' + id)
        count++
        blocks += core.length
        void name
        await core.close()
      }
    }
  }
  await store.close()
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  console.log(JSON.stringify({ ms, count, blocks, rss_kb: rssKb() }))
}

async function seed (dir) {
  const store = new Corestore(dir)
  await store.ready()
  const socks = new Set()
  const server = net.createServer((sock) => {
    socks.add(sock)
    sock.on('error', () => {})
    const stream = store.replicate(false)
    stream.on('error', () => {})
    sock.pipe(stream).pipe(sock)
    sock.on('close', () => { socks.delete(sock); stream.destroy() })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  console.log('port ' + server.address().port)
  process.on('SIGTERM', async () => {
    for (const s of socks) s.destroy()
    server.close()
    await store.close()
    process.exit(0)
  })
}

const [mode, dir] = process.argv.slice(2)
if (mode === 'list') list(dir).catch((e) => { console.error(e); process.exit(1) })
else if (mode === 'seed') seed(dir).catch((e) => { console.error(e); process.exit(1) })
else { console.error('usage: bench_store.js list|seed DIR'); process.exit(2) }
