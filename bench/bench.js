// bench.js: the JS reference side of the benchmark (hypercore@10.38.2, pinned in
// bench/package-lock.json as `hc10`). One workload per process, same arguments and output as
// bench_core.c:
//   node bench.js append_batch  DIR N BLOCK BATCH
//   node bench.js append_single DIR N BLOCK
//   node bench.js bulk          DIR BYTES BLOCK BATCH
//   node bench.js get_seq       DIR N
//   node bench.js get_rand      DIR N
//   node bench.js reopen        DIR
//   node bench.js clone_tcp     SRC DST   (a child process serves SRC over TCP; this one clones)
// Prints one line of JSON: {"value":..,"unit":..,"rss_kb":..}; rss_kb is VmHWM at the end.
'use strict'
const fs = require('fs')
const path = require('path')
const Hypercore = require(path.join(__dirname, 'node_modules', 'hc10'))

function now () {
  return Number(process.hrtime.bigint()) / 1e9
}

function peakRssKb () {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) : -1
}

function result (value, unit, secs, extra) {
  console.log(JSON.stringify({ value, unit, secs, rss_kb: peakRssKb(), ...extra }))
}

// Same block contents as bench_core.c: a fixed xorshift pattern, the index in the first 8 bytes.
function pattern (len) {
  const buf = Buffer.alloc(len)
  let x = 0x9e3779b97f4a7c15n
  const M = (1n << 64n) - 1n
  for (let i = 0; i < len; i++) {
    x ^= (x << 13n) & M
    x ^= x >> 7n
    x ^= (x << 17n) & M
    buf[i] = Number(x & 0xffn)
  }
  return buf
}

async function open (dir) {
  const core = new Hypercore(dir)
  await core.ready()
  return core
}

async function append (dir, n, block, batch, unit, scale) {
  const core = await open(dir)
  const data = pattern(block * batch)
  const t0 = now()
  for (let done = 0; done < n;) {
    const k = Math.min(batch, n - done)
    // fresh buffers per batch (the reference may keep references until the write completes)
    const chunk = Buffer.from(data.subarray(0, k * block))
    const blocks = new Array(k)
    for (let i = 0; i < k; i++) {
      const b = chunk.subarray(i * block, (i + 1) * block)
      b.writeBigUInt64LE(BigInt(done + i), 0)
      blocks[i] = b
    }
    await core.append(k === 1 ? blocks[0] : blocks)
    done += k
  }
  const secs = now() - t0
  if (core.length !== n) throw new Error('length mismatch')
  await core.close()
  result(n * scale / secs, unit, secs)
}

async function get (dir, n, random) {
  const core = await open(dir)
  const len = core.length
  if (len === 0) throw new Error('empty core')
  let seed = 0x2545f4914f6cdd1dn
  const M = (1n << 64n) - 1n
  const L = BigInt(len)
  let sum = 0
  const t0 = now()
  for (let i = 0; i < n; i++) {
    let idx = i % len
    if (random) {
      seed ^= (seed << 13n) & M
      seed ^= seed >> 7n
      seed ^= (seed << 17n) & M
      idx = Number(seed % L)
    }
    const b = await core.get(idx)
    sum += b[0] + b.length
  }
  const secs = now() - t0
  await core.close()
  if (sum === 0) throw new Error('nothing read')
  result(n / secs, 'blocks/s', secs)
}

async function reopen (dir) {
  const t0 = now()
  const core = await open(dir)
  const len = core.length
  if (len === 0) throw new Error('empty core')
  await core.get(len - 1)
  const secs = now() - t0
  await core.close()
  result(secs * 1e3, 'ms', secs, { length: len })
}

// The writer: a separate node process serving SRC to every TCP connection.
async function serveChild (src) {
  const net = require('net')
  const core = await open(src)
  const server = net.createServer((sock) => {
    const s = core.replicate(false)
    sock.on('error', () => {})
    s.on('error', () => {})
    s.pipe(sock).pipe(s)
  })
  server.listen(0, '127.0.0.1', () => process.send(server.address().port))
}

async function clone (src, dst) {
  const { fork } = require('child_process')
  const src0 = await open(src)
  const key = src0.key
  const want = src0.length
  const bytes = src0.byteLength
  await src0.close()
  const child = fork(__filename, ['serve_child', src])
  const port = await new Promise((resolve) => child.once('message', resolve))
  const net = require('net')
  const core = new Hypercore(dst, key)
  await core.ready()
  const t0 = now()
  const sock = net.connect(port, '127.0.0.1')
  const s = core.replicate(true)
  s.pipe(sock).pipe(s)
  await core.update({ wait: true })
  await core.download({ start: 0, end: want }).done()
  const secs = now() - t0
  if (core.length !== want || !(await core.has(0, want))) throw new Error('clone incomplete')
  s.destroy()
  sock.destroy()
  child.kill('SIGKILL')
  await core.close()
  result(bytes / 1e6 / secs, 'MB/s', secs)
}

async function main () {
  const [w, dir, ...rest] = process.argv.slice(2)
  const a = rest.map(Number)
  if (w === 'append_batch') return append(dir, a[0], a[1], a[2], 'blocks/s', 1)
  if (w === 'append_single') return append(dir, a[0], a[1], 1, 'appends/s', 1)
  if (w === 'bulk') return append(dir, Math.floor(a[0] / a[1]), a[1], a[2], 'MB/s', a[1] / 1e6)
  if (w === 'get_seq') return get(dir, a[0], false)
  if (w === 'get_rand') return get(dir, a[0], true)
  if (w === 'reopen') return reopen(dir)
  if (w === 'serve_child') return serveChild(dir)
  if (w === 'clone_tcp') return clone(dir, rest[0])
  throw new Error('unknown workload ' + w)
}

main().catch((err) => {
  console.error('bench.js:', err)
  process.exit(1)
})
