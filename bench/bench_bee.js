// bench_bee.js: the JS side of the Hyperbee / Hyperdrive benchmark (hyperbee 2.27.3 and
// hyperdrive 11.13.4 on hypercore 10.38.2 / corestore 6.18.4, from tests/interop's pinned
// node_modules). Same workloads, arguments and output as bench_bee.c.
'use strict'
const fs = require('fs')
const path = require('path')
const NM = path.join(__dirname, '..', 'tests', 'interop', 'node_modules')
const Hypercore = require(path.join(NM, 'hc10'))
const Hyperbee = require(path.join(NM, 'hyperbee'))

function now () { return Number(process.hrtime.bigint()) / 1e9 }
function peakRssKb () {
  const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) : -1
}
function result (value, unit, secs) {
  console.log(JSON.stringify({ value: Math.round(value * 10) / 10, unit, secs, rss_kb: peakRssKb() }))
}

// the same keys and values as bench_bee.c
function makeKv (i) {
  let x = (Math.imul(i >>> 0, 2654435761) ^ 0x5bd1e995) >>> 0
  const key = Buffer.alloc(16)
  for (let j = 0; j < 16; j++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    key[j] = x >>> 24
  }
  const val = Buffer.alloc(32)
  const big = BigInt(i)
  for (let j = 0; j < 32; j++) val[j] = Number((big >> BigInt((j % 8) * 8)) & 0xffn) ^ j
  return [key, val]
}

async function putBatch (dir, n, batch) {
  const bee = new Hyperbee(new Hypercore(dir))
  await bee.ready()
  const t = now()
  for (let i = 0; i < n;) {
    const b = bee.batch()
    for (let j = 0; j < batch && i < n; j++, i++) {
      const [k, v] = makeKv(i)
      await b.put(k, v)
    }
    await b.flush()
  }
  const secs = now() - t
  await bee.close()
  result(n / secs, 'puts/s', secs)
}

async function getRand (dir, n) {
  const bee = new Hyperbee(new Hypercore(dir, { writable: false }))
  await bee.ready()
  const nkeys = BigInt(bee.version - 1)
  let x = 88172645463325252n
  const M = (1n << 64n) - 1n
  const t = now()
  for (let i = 0; i < n; i++) {
    x ^= (x << 13n) & M
    x ^= x >> 7n
    x ^= (x << 17n) & M
    const [k, v] = makeKv(Number(x % nkeys))
    const e = await bee.get(k)
    if (!e || !e.value.equals(v)) throw new Error('wrong value')
  }
  const secs = now() - t
  await bee.close()
  result(n / secs, 'gets/s', secs)
}

async function scan (dir) {
  const bee = new Hyperbee(new Hypercore(dir, { writable: false }))
  await bee.ready()
  const t = now()
  let n = 0
  for await (const e of bee.createReadStream()) { if (e) n++ }
  const secs = now() - t
  await bee.close()
  result(n / secs, 'entries/s', secs)
}

async function mirror (store, src) {
  const Corestore = require(path.join(NM, 'cs6'))
  const Hyperdrive = require(path.join(NM, 'hyperdrive'))
  const { pipeline } = require('stream/promises')
  const cs = new Corestore(store)
  const drive = new Hyperdrive(cs)
  await drive.ready()
  let n = 0
  let bytes = 0
  const t = now()
  async function walk (local, prefix) {
    for (const name of fs.readdirSync(local)) {
      if (name.startsWith('.')) continue
      const lp = path.join(local, name)
      const st = fs.lstatSync(lp)
      if (st.isDirectory()) await walk(lp, prefix + '/' + name)
      else if (st.isFile()) {
        if (st.size > 4 * 1024 * 1024) {
          await pipeline(fs.createReadStream(lp), drive.createWriteStream(prefix + '/' + name, { executable: !!(st.mode & 0o100) }))
        } else {
          await drive.put(prefix + '/' + name, fs.readFileSync(lp), { executable: !!(st.mode & 0o100) })
        }
        bytes += st.size
        n++
      }
    }
  }
  await walk(src, '')
  const secs = now() - t
  await drive.close()
  if (n === 1) result(bytes / 1e6 / secs, 'MB/s', secs)
  else result(n / secs, 'files/s', secs)
}

const [cmd, a, b, c] = process.argv.slice(2)
const run = cmd === 'put_batch' ? putBatch(a, Number(b), Number(c))
  : cmd === 'get_rand' ? getRand(a, Number(b))
    : cmd === 'scan' ? scan(a)
      : cmd === 'mirror' ? mirror(a, b)
        : Promise.reject(new Error('usage: bench_bee.js put_batch DIR N BATCH | get_rand DIR N | scan DIR | mirror STORE SRC'))
run.catch((err) => { console.error(err); process.exit(1) })
