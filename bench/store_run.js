'use strict'
// The store benchmark: libhypercore's store (bench_store, `hypercore seed`) next to JS
// corestore 6.18.4 (bench_store.js) on the same machine, each run in fresh processes.
//   node bench/store_run.js --bench-bin B --cli C [--quick] [--runs N]
// (bench/store_run.sh builds both and calls this.)
//  list   a store of L cores (10 blocks of 64 B each) made by C: open it and list every core
//         (key, length, name)
//  serve  a store of S cores x 100 blocks of 64 B: one C reader fetches all of them over one
//         connection from the seeder (C `hypercore seed STORE` / JS corestore 6
//         store.replicate); time of the fetch, peak RSS (VmHWM) and CPU time of the seeder
//  flat   C seeder (open-core limit 256) of stores of growing size, every core fetched, 250 per
//         connection: the seeder's peak RSS must not grow with the store
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf('--' + name)
  return i >= 0 ? args[i + 1] : def
}
const QUICK = args.includes('--quick')
const RUNS = Number(opt('runs', 3))
const BENCH = opt('bench-bin')
const CLI = opt('cli')
const BASE = fs.mkdtempSync(path.join(process.env.HC_BENCH_TMP || os.tmpdir(), 'hc-store-bench-'))
const JS = path.join(__dirname, 'bench_store.js')
const L = QUICK ? 2000 : 10000
const S = QUICK ? 300 : 1000
const FLAT = QUICK ? [500, 1000, 2000] : [1000, 4000, 10000]

function sh (cmd, argv) {
  const r = spawnSync(cmd, argv, { maxBuffer: 64 << 20 })
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`)
  return r.stdout.toString()
}
const json = (s) => JSON.parse(s.trim().split('\n').pop())
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }

function procStat (pid) {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(st)[1])
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const tck = 100 // USER_HZ
  return { rss_kb: hwm, cpu_ms: (Number(f[11]) + Number(f[12])) * 1000 / tck }
}

// Starts a seeder, waits for "port N"; returns { proc, port }.
function startSeeder (cmd, argv) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stderr.on('data', (d) => { err += d })
    proc.stdout.on('data', (d) => {
      out += d
      const m = /port (\d+)/.exec(out)
      if (m) resolve({ proc, port: Number(m[1]) })
    })
    proc.on('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${err}`)))
  })
}

async function stopSeeder (s) {
  const stats = procStat(s.proc.pid)
  s.proc.removeAllListeners('exit')
  const done = new Promise((resolve) => s.proc.on('exit', resolve))
  s.proc.kill('SIGTERM')
  await done
  return stats
}

async function fetchFrom (seeder, n, blocks, perConn) {
  const r = json(sh(BENCH, ['fetch', String(seeder.port), String(n), String(blocks), String(perConn || 0)]))
  if (r.blocks !== n * blocks) throw new Error(`fetched ${r.blocks} blocks, wanted ${n * blocks}`)
  return r
}

const rows = []
function row (workload, unit, js, ours, extra = '') {
  rows.push({ workload, unit, js, ours, extra })
  console.error(`# ${workload}: JS ${js} ${unit}, ours ${ours} ${unit} ${extra}`)
}

async function main () {
  const storeL = path.join(BASE, 'list')
  console.error(`==> making a store of ${L} cores (C)`)
  sh(BENCH, ['make', storeL, String(L), '10'])
  const cL = []
  const jL = []
  for (let i = 0; i < RUNS; i++) {
    cL.push(json(sh(BENCH, ['list', storeL])))
    const copy = path.join(BASE, 'list-js-' + i)
    sh('cp', ['-r', storeL, copy])
    sh('sync', [])
    jL.push(json(sh('node', [JS, 'list', copy])))
    fs.rmSync(copy, { recursive: true, force: true })
  }
  for (const r of [...cL, ...jL]) if (r.count !== L) throw new Error(`listed ${r.count} of ${L}`)
  const lc = median(cL.map(r => r.ms))
  const lj = median(jL.map(r => r.ms))
  row(`open + list a store of ${L} cores`, 'ms', lj.toFixed(0), lc.toFixed(0),
    `(${(lj / lc).toFixed(1)}x; peak RSS JS ${(Math.max(...jL.map(r => r.rss_kb)) / 1024).toFixed(1)} MB, ours ${(Math.max(...cL.map(r => r.rss_kb)) / 1024).toFixed(1)} MB)`)

  const storeS = path.join(BASE, 'serve')
  console.error(`==> making a store of ${S} cores x 100 blocks (C)`)
  sh(BENCH, ['make', storeS, String(S), '100'])
  const cs = []
  const js = []
  for (let i = 0; i < RUNS; i++) {
    let s = await startSeeder(CLI, ['seed', storeS, '--listen', '127.0.0.1:0', '--max-open', String(S)])
    const fc = await fetchFrom(s, S, 100)
    cs.push({ ...fc, ...(await stopSeeder(s)) })
    const copy = path.join(BASE, 'serve-js-' + i)
    sh('cp', ['-r', storeS, copy])
    s = await startSeeder('node', [JS, 'seed', copy])
    const fj = await fetchFrom(s, S, 100)
    js.push({ ...fj, ...(await stopSeeder(s)) })
    fs.rmSync(copy, { recursive: true, force: true })
  }
  const sc = median(cs.map(r => r.ms))
  const sj = median(js.map(r => r.ms))
  const rc = Math.max(...cs.map(r => r.rss_kb)) / 1024
  const rj = Math.max(...js.map(r => r.rss_kb)) / 1024
  row(`serve ${S} cores x 100 blocks to one reader (one connection)`, 'ms', sj.toFixed(0), sc.toFixed(0),
    `(${(sj / sc).toFixed(1)}x faster; seeder CPU JS ${median(js.map(r => r.cpu_ms)).toFixed(0)} ms, ours ${median(cs.map(r => r.cpu_ms)).toFixed(0)} ms)`)
  row(`seeder peak RSS holding ${S} open cores`, 'MB', rj.toFixed(1), rc.toFixed(1), `(ours ${(100 * rc / rj).toFixed(1)}% of JS)`)

  const flat = []
  for (const n of FLAT) {
    const dir = path.join(BASE, 'flat-' + n)
    console.error(`==> flat: a store of ${n} cores x 10 blocks`)
    sh(BENCH, ['make', dir, String(n), '10'])
    const s = await startSeeder(CLI, ['seed', dir, '--listen', '127.0.0.1:0', '--max-open', '256'])
    const f = await fetchFrom(s, n, 10, 250)
    const st = await stopSeeder(s)
    flat.push({ n, ms: f.ms, rss: st.rss_kb / 1024 })
    fs.rmSync(dir, { recursive: true, force: true })
  }
  console.log('\n| workload | unit | JS corestore 6.18.4 | ours | notes |')
  console.log('|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.workload} | ${r.unit} | ${r.js} | ${r.ours} | ${r.extra} |`)
  console.log('\nC seeder, open-core limit 256, every core fetched (250 cores per connection):')
  for (const f of flat) console.log(`  store of ${String(f.n).padStart(6)} cores: peak RSS ${f.rss.toFixed(1)} MB (fetch ${f.ms.toFixed(0)} ms)`)
}

main().then(() => {
  fs.rmSync(BASE, { recursive: true, force: true })
}, (e) => {
  console.error(e)
  fs.rmSync(BASE, { recursive: true, force: true })
  process.exit(1)
})
