// Runs the Hyperbee / Hyperdrive workloads with libhypercore (bench_bee) and with the JS
// reference (bench_bee.js) side by side, each run in its own process, and prints a table with
// the ratio and both peak RSS. Usage (bench/run_bee.sh builds and calls this):
//   node bench/run_bee.js --bin BUILD/bench/bench_bee [--quick]
'use strict'
const fs = require('fs')
const os = require('os')
const path = require('path')
const { execFileSync } = require('child_process')

const args = process.argv.slice(2)
const bin = args[args.indexOf('--bin') + 1]
const quick = args.includes('--quick')
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 3
const tmp = fs.mkdtempSync(path.join(process.env.HC_BENCH_TMP || os.tmpdir(), 'hc-bench-bee-'))
const JS = path.join(__dirname, 'bench_bee.js')

const S = quick
  ? { puts: 20000, keys: 100000, getsC: 20000, getsJs: 2000, small: 2000, bigMiB: 64 }
  : { puts: 100000, keys: 1000000, getsC: 100000, getsJs: 5000, small: 10000, bigMiB: 1024 }

function run (cmd, argv) {
  try { execFileSync('sync') } catch {}
  const out = execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop()
  return JSON.parse(out)
}
// median of RUNS runs (each in a fresh directory when the workload writes), peak RSS the max
function median (f) {
  const rs = []
  for (let i = 0; i < RUNS; i++) rs.push(f(i))
  rs.sort((a, b) => a.value - b.value)
  const m = rs[Math.floor(rs.length / 2)]
  return { ...m, rss_kb: Math.max(...rs.map((r) => r.rss_kb)) }
}
const c = (...a) => run(bin, a.map(String))
const js = (...a) => run('node', [JS, ...a.map(String)])
const d = (name) => path.join(tmp, name)

function fmt (v) {
  if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M'
  if (v >= 1e4) return Math.round(v / 1e3) + 'k'
  return String(Math.round(v * 10) / 10)
}

const rows = []
function row (name, jsr, cr) {
  rows.push({ name, unit: cr.unit, js: jsr.value, c: cr.value, ratio: cr.value / jsr.value, rssJs: jsr.rss_kb / 1024, rssC: cr.rss_kb / 1024 })
  process.stderr.write(`  ${name}: JS ${fmt(jsr.value)} ${jsr.unit}, C ${fmt(cr.value)} ${cr.unit}\n`)
}

function files (dir, n, size) {
  fs.mkdirSync(dir, { recursive: true })
  for (let i = 0; i < n; i++) {
    const sub = path.join(dir, 'd' + (i % 50))
    if (i < 50) fs.mkdirSync(sub, { recursive: true })
    const b = Buffer.alloc(size, i & 0xff)
    b.writeUInt32LE(i, 0)
    fs.writeFileSync(path.join(sub, 'f' + i), b)
  }
}

try {
  process.stderr.write(`==> bee/drive bench (${quick ? 'quick' : 'full'}) in ${tmp}\n`)
  row(`${S.puts / 1000}k puts in batches of 1000`, median((i) => js('put_batch', d('pj' + i), S.puts, 1000)), median((i) => c('put_batch', d('pc' + i), S.puts, 1000)))
  // one bee of S.keys keys, written by C (byte-identical to what JS writes), read by both
  c('put_batch', d('big'), S.keys, 1000)
  row(`random get on a ${S.keys / 1000}k-key bee`, median(() => js('get_rand', d('big'), S.getsJs)), median(() => c('get_rand', d('big'), S.getsC)))
  row(`full range scan of ${S.puts / 1000}k keys`, median(() => js('scan', d('pc0'))), median(() => c('scan', d('pc0'))))
  if (!quick) row(`full range scan of ${S.keys / 1000}k keys`, js('scan', d('big')), median(() => c('scan', d('big'))))
  files(d('small'), S.small, 1024)
  row(`drive mirror of ${S.small} files of 1 KiB`, median((i) => js('mirror', d('sj' + i), d('small'))), median((i) => c('mirror', d('sc' + i), d('small'))))
  fs.mkdirSync(d('bigf'))
  const fd = fs.openSync(path.join(d('bigf'), 'big.bin'), 'w')
  const chunk = Buffer.alloc(1 << 20)
  for (let i = 0; i < S.bigMiB; i++) { chunk.writeUInt32LE(i, 0); fs.writeSync(fd, chunk) }
  fs.closeSync(fd)
  row(`drive mirror of one ${S.bigMiB} MiB file`, median((i) => js('mirror', d('bj' + i), d('bigf'))), median((i) => c('mirror', d('bc' + i), d('bigf'))))

  console.log(`medians of ${RUNS} runs (the full scan of the big bee: JS once)`)
  console.log('| workload | unit | JS | ours | ratio | RSS JS MB | RSS ours MB |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.unit} | ${fmt(r.js)} | ${fmt(r.c)} | ${r.ratio.toFixed(1)}x | ${r.rssJs.toFixed(1)} | ${r.rssC.toFixed(1)} |`)
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
