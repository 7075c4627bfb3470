'use strict'
// Swarm benchmark (manual; not run by ctest): clone N x 1 KiB blocks over Hyperswarm on a
// hyperdht testnet bound to 127.0.0.1, against the same writers, and compare with direct TCP.
//   node bench/swarm.js BUILD_DIR            (env: HC_BENCH_N=100000, HC_BENCH_REPS=3)
// Needs tests/interop/node_modules (npm ci) and helper/swarm/node_modules (npm ci).
// Prints, per run: wall time of the clone process (start to exit), time to the first verified
// block (from the process start: helper start, DHT lookup, connection, first block), MB/s.

const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const { spawn, spawnSync } = require('node:child_process')
const req = require('node:module').createRequire(path.join(__dirname, '../tests/interop/package.json'))
const createTestnet = req('hyperdht/testnet')
const Hyperswarm = req('hyperswarm')
const Hypercore = req('hc10')
const RAM = req('random-access-memory')

const BUILD = path.resolve(process.argv[2] || path.join(__dirname, '../build'))
const BIN = path.join(BUILD, 'hypercore')
const N = Number(process.env.HC_BENCH_N || 100000)
const REPS = Number(process.env.HC_BENCH_REPS || 3)
const SIZE = 1024
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-swarm-bench-'))

function median (xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

// Runs the CLI to completion; resolves { ms, stderr }.
function runCli (args) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const p = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    p.stderr.on('data', (d) => { err += d })
    p.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (code !== 0) return reject(new Error(`${args.join(' ')}: exit ${code}: ${err}`))
      resolve({ ms, stderr: err })
    })
  })
}

function startServe (args) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
      const port = out.match(/^port (\d+)$/m)
      if (port) resolve({ p, port: Number(port[1]) })
      if (/^joined /m.test(out)) resolve({ p })
    })
    p.on('close', (code) => reject(new Error('serve exited ' + code)))
  })
}

async function stopServe (s) {
  s.p.removeAllListeners('close')
  const done = new Promise((resolve) => s.p.on('close', resolve))
  s.p.kill('SIGTERM')
  await done
}

async function cloneRuns (label, argsFor) {
  const rows = []
  for (let i = 0; i < REPS; i++) {
    const dir = path.join(TMP, `${label.replace(/\W+/g, '-')}-${i}`)
    const r = await runCli(argsFor(dir))
    const first = r.stderr.match(/first block after (\d+) ms/)
    rows.push({ ms: r.ms, first: first ? Number(first[1]) : null })
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const ms = median(rows.map(r => r.ms))
  const firsts = rows.map(r => r.first).filter(x => x !== null)
  const out = { label, ms, mbps: (N * SIZE) / 1e6 / (ms / 1000), first: firsts.length ? median(firsts) : null }
  console.log(`${label.padEnd(52)} ${(out.ms / 1000).toFixed(2).padStart(7)} s ${out.mbps.toFixed(1).padStart(7)} MB/s` +
    (out.first !== null ? `   first block ${out.first} ms` : ''))
  return out
}

async function jsSwarmReader (testnet, key, label) {
  const rows = []
  for (let i = 0; i < Math.max(1, Math.min(REPS, Number(process.env.HC_BENCH_JS_REPS || 1))); i++) {
    const t0 = Date.now()
    const reader = new Hypercore(RAM, key)
    await reader.ready()
    const swarm = new Hyperswarm({ dht: testnet.createNode({ host: '127.0.0.1', firewalled: false }) })
    let first = null
    reader.on('download', () => { if (first === null) first = Date.now() - t0 })
    swarm.on('connection', (c) => reader.replicate(c))
    swarm.join(reader.discoveryKey, { server: false, client: true })
    while (reader.length < N) {
      await swarm.flush()
      await reader.update({ wait: true })
      if (reader.length < N) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await reader.download({ start: 0, end: N }).done()
    const ms = Date.now() - t0
    rows.push({ ms, first })
    await swarm.destroy()
    await reader.close()
  }
  const ms = median(rows.map(r => r.ms))
  const first = median(rows.map(r => r.first))
  console.log(`${label.padEnd(52)} ${(ms / 1000).toFixed(2).padStart(7)} s ${((N * SIZE) / 1e6 / (ms / 1000)).toFixed(1).padStart(7)} MB/s   first block ${first} ms`)
}

async function main () {
  console.log(`# ${N} x ${SIZE} B blocks, median of ${REPS} (JS reader: ${process.env.HC_BENCH_JS_REPS || 1}); ${os.cpus().length} CPUs, node ${process.version}`)
  const { testnet, bootstrap } = await (async () => {
    const t = await createTestnet(3, { host: '127.0.0.1' })
    return { testnet: t, bootstrap: t.bootstrap.map(b => `${b.host}:${b.port}`).join(',') }
  })()

  // the JS writer (hypercore 10.38.2), on the swarm and on a TCP port
  const writer = new Hypercore(RAM)
  await writer.ready()
  for (let i = 0; i < N; i += 1000) {
    const batch = []
    for (let k = i; k < Math.min(N, i + 1000); k++) batch.push(Buffer.alloc(SIZE, k % 251))
    await writer.append(batch)
  }
  const wswarm = new Hyperswarm({ dht: testnet.createNode({ host: '127.0.0.1' }) })
  wswarm.on('connection', (c) => writer.replicate(c))
  await wswarm.join(writer.discoveryKey, { server: true, client: false }).flushed()
  const tcp = net.createServer((sock) => {
    const s = writer.replicate(false)
    sock.on('error', () => {})
    s.on('error', () => {})
    sock.pipe(s).pipe(sock)
  })
  await new Promise((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  const key = writer.key.toString('hex')

  console.log('## against a JS hypercore 10.38.2 writer')
  await cloneRuns('C clone --swarm (JS writer)', (dir) => ['clone', key, dir, '--swarm', '--bootstrap', bootstrap])
  await cloneRuns('C clone --connect, direct TCP (JS writer)', (dir) => ['clone', key, dir, '--connect', '127.0.0.1:' + tcp.address().port])
  await jsSwarmReader(testnet, writer.key, 'JS 10.38.2 reader over the swarm (JS writer)')
  await wswarm.destroy()
  tcp.close()

  // a C writer: the helper's relay overhead without the JS writer's limits
  console.log('## against a C writer (hypercore serve)')
  const cdir = path.join(TMP, 'c-writer')
  spawnSync(BIN, ['create', cdir])
  const line = 'x'.repeat(SIZE - 1) + '\n'
  const r = spawnSync(BIN, ['append', cdir], { input: Buffer.from(line.repeat(N)), maxBuffer: 1 << 30 })
  if (r.status !== 0) throw new Error('append: ' + r.stderr)
  const ckey = spawnSync(BIN, ['info', cdir, '--json']).stdout.toString().match(/"key": ?"([0-9a-f]{64})"/)[1]
  const sSwarm = await startServe(['serve', cdir, '--swarm', '--bootstrap', bootstrap])
  await cloneRuns('C clone --swarm (C serve --swarm)', (dir) => ['clone', ckey, dir, '--swarm', '--bootstrap', bootstrap])
  await jsSwarmReader(testnet, Buffer.from(ckey, 'hex'), 'JS 10.38.2 reader over the swarm (C serve --swarm)')
  await stopServe(sSwarm)
  const sTcp = await startServe(['serve', cdir, '--listen', '127.0.0.1:0'])
  await cloneRuns('C clone --connect, direct TCP (C serve)', (dir) => ['clone', ckey, dir, '--connect', '127.0.0.1:' + sTcp.port])
  await stopServe(sTcp)

  await writer.close()
  await testnet.destroy()
  fs.rmSync(TMP, { recursive: true, force: true })
}

main().then(() => process.exit(0), (err) => { console.error(err); fs.rmSync(TMP, { recursive: true, force: true }); process.exit(1) })
