'use strict'
// Manual benchmark (not run by ctest): `drive cat KEY /big --connect` through a TCP proxy that
// delays every chunk by DELAY ms each way (default 25: a 50 ms round trip), the whole file
// (its blobs blocks asked for at once) against --start 0 --length SIZE-1 (a range: one block
// per round trip). HYPERCORE_BIN=build/hypercore node bench-remote-cat.js  [SIZE=bytes DELAY=ms]
const RAM = require('random-access-memory')
const net = require('node:net')
const Hyperdrive = require('hyperdrive')
const Corestore = require('cs6')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
// a TCP proxy adding DELAY ms each way (chunks delayed in order)
function delayed (port, DELAY) {
  return new Promise((resolve) => {
    const s = net.createServer((c) => {
      const up = net.connect(port, '127.0.0.1')
      const pipe = (a, b) => a.on('data', (d) => setTimeout(() => b.write(d), DELAY))
      pipe(c, up); pipe(up, c)
      c.on('error', () => {}); up.on('error', () => {})
      c.on('close', () => up.destroy()); up.on('close', () => c.destroy())
    })
    s.listen(0, '127.0.0.1', () => resolve(s))
  })
}
;(async () => {
  const store = new Corestore(RAM)
  const drive = new Hyperdrive(store)
  await drive.ready()
  const SIZE = Number(process.env.SIZE || 5 * 1024 * 1024)
  const data = h.bytes(SIZE, 5)
  await drive.put('/big', data)
  const srv = await u.jsServe(store)
  const port = Number(srv.connect.split(':')[1])
  const px = await delayed(port, Number(process.env.DELAY || 25))
  const key = drive.key.toString('hex')
  for (const extra of [[], ['--start', 0, '--length', SIZE - 1]]) {
    const t0 = Date.now()
    const r = await u.runC(['drive', 'cat', key, '/big', '--connect', '127.0.0.1:' + px.address().port, '--stats', ...extra], { timeout: 120000 })
    const ms = Date.now() - t0
    console.log(extra.length ? 'range (block by block)' : 'whole file (prefetch)', r.status, ms, 'ms', (SIZE / 1e6 / (ms / 1000)).toFixed(2), 'MB/s', Buffer.compare(r.stdout, extra.length ? data.subarray(0, SIZE - 1) : data) === 0, r.stderr.split('\n').filter(l => /fetched/.test(l)).join(' | '))
  }
  px.close(); await srv.close()
})()
