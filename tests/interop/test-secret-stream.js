'use strict'
// C secret-stream (src/secret_stream.c via tests/interop/ss_peer.c) against the JS
// @hyperswarm/secret-stream 6.9.2 over a real TCP loopback socket, C as initiator and as
// responder: Noise XX handshake, stream headers, messages both ways (small, large, empty
// keep-alive), echo, orderly close.
// env: HC_SS_PEER = path of the ss_peer driver (else $HC_BUILD/tests/ss_peer).

const assert = require('node:assert')
const net = require('node:net')
const path = require('node:path')
const fs = require('node:fs')
const { spawn } = require('node:child_process')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const sodium = require('sodium-universal')

const PEER = process.env.HC_SS_PEER ||
  path.join(process.env.HC_BUILD || path.resolve(__dirname, '../../build'), 'tests', 'ss_peer')

const hex = (b) => Buffer.from(b).toString('hex')
const b2 = (b) => { const o = Buffer.alloc(32); sodium.crypto_generichash(o, b); return hex(o) }
let checks = 0
const step = (m) => { checks++; console.log('# ' + m) }

function cBig () {
  const b = Buffer.alloc(100000)
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff
  return b
}

function spawnPeer (args) {
  const child = spawn(PEER, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const events = []
  const waiters = []
  let buf = ''
  child.stdout.on('data', (d) => {
    buf += d.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.trim()) continue
      const ev = JSON.parse(line)
      events.push(ev)
      for (const w of waiters.slice()) if (w.pred(ev)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(ev) }
    }
  })
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  function waitEvent (pred) {
    const found = events.find(pred)
    if (found) return Promise.resolve(found)
    return new Promise((resolve) => waiters.push({ pred, resolve }))
  }
  return { child, events, exited, waitEvent }
}

async function scenario (cIsInitiator) {
  const label = cIsInitiator ? 'C initiator / JS responder' : 'C responder / JS initiator'
  const jsSeed = Buffer.alloc(32, cIsInitiator ? 0x55 : 0x57)
  const cSeed = Buffer.alloc(32, cIsInitiator ? 0x66 : 0x68)
  const jsKp = NoiseSecretStream.keyPair(jsSeed)
  const cKp = NoiseSecretStream.keyPair(cSeed)

  let socket, peer, server
  if (cIsInitiator) {
    server = net.createServer()
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const conn = new Promise((resolve) => server.once('connection', resolve))
    peer = spawnPeer(['connect', String(server.address().port), '1', hex(cSeed)])
    socket = await conn
  } else {
    peer = spawnPeer(['listen', '0', hex(cSeed)])
    const ev = await peer.waitEvent((e) => e.event === 'listening')
    socket = net.connect(ev.port, '127.0.0.1')
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  }

  const js = new NoiseSecretStream(!cIsInitiator, socket, { keyPair: jsKp, keepAlive: 5000 })
  const received = []
  let onData = null
  js.on('data', (d) => { received.push(Buffer.from(d)); if (onData) onData() })
  js.on('error', (err) => { console.error('js stream error', err) })
  const until = (pred) => new Promise((resolve) => {
    const check = () => { if (pred()) { onData = null; resolve() } }
    onData = check
    check()
  })

  assert.strictEqual(await js.opened, true, label + ': JS handshake completes')
  step(label + ': handshake complete')
  assert.strictEqual(hex(js.remotePublicKey), hex(cKp.publicKey), 'JS sees the C static key')
  const hs = await peer.waitEvent((e) => e.event === 'handshake' || e.event === 'error')
  assert.strictEqual(hs.event, 'handshake', 'C handshake: ' + JSON.stringify(hs))
  assert.strictEqual(hs.remotePublicKey, hex(jsKp.publicKey), 'C sees the JS static key')
  assert.strictEqual(hs.publicKey, hex(cKp.publicKey), 'C public key')
  assert.strictEqual(hs.hash, hex(js.handshakeHash), 'same 64-byte handshake hash')
  assert.strictEqual(js.handshakeHash.length, 64)
  step(label + ': keys and handshake hash agree')

  // JS -> C
  const big = Buffer.alloc(200000)
  for (let i = 0; i < big.length; i++) big[i] = (i * 13 + 5) & 0xff
  const sent = [Buffer.from('js-1'), big, Buffer.from('js-2')]
  js.write(sent[0])
  js.write(big)
  js.write(Buffer.alloc(0)) // keep-alive frame: dropped by C
  js.write(sent[2])

  // C -> JS: c-hello, 100000 bytes, (keep-alive, dropped by JS), c-done, plus our 3 echoes
  const expect = [Buffer.from('c-hello'), cBig(), Buffer.from('c-done')]
  const echoes = sent.map((s) => Buffer.concat([Buffer.from('echo:'), s]))
  await until(() => received.length >= expect.length + echoes.length)
  const fromC = received.filter((m) => !m.subarray(0, 5).equals(Buffer.from('echo:')))
  const echoed = received.filter((m) => m.subarray(0, 5).equals(Buffer.from('echo:')))
  assert.strictEqual(fromC.length, 3, 'three C messages (keep-alive filtered)')
  for (let i = 0; i < 3; i++) assert.ok(fromC[i].equals(expect[i]), 'C message ' + i)
  step(label + ': C -> JS messages (7 B, 100000 B, keep-alive, 6 B) received intact and in order')
  assert.strictEqual(echoed.length, 3)
  for (let i = 0; i < 3; i++) assert.ok(echoed[i].equals(echoes[i]), 'echo ' + i)
  step(label + ': JS -> C messages (4 B, 200000 B, keep-alive, 4 B) echoed back intact')

  // C printed what it received: lengths and hashes match what JS sent (keep-alive not delivered).
  // Its stdout (a pipe) may reach us after its echoes (the socket): wait for the lines.
  for (let t = 0; t < 1000 && peer.events.filter((e) => e.event === 'message').length < sent.length; t++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const cmsgs = peer.events.filter((e) => e.event === 'message')
  assert.deepStrictEqual(cmsgs.map((e) => e.length), sent.map((s) => s.length))
  assert.deepStrictEqual(cmsgs.map((e) => e.hash), sent.map(b2))
  step(label + ': C decrypted exactly the JS plaintexts')

  // orderly close
  const n = received.length
  js.write(Buffer.from('bye'))
  await until(() => received.length > n)
  assert.strictEqual(received[n].toString(), 'bye-ack')
  js.end()
  const code = await peer.exited
  assert.strictEqual(code, 0, 'ss_peer exit code')
  const end = peer.events.find((e) => e.event === 'end')
  assert.ok(end && end.bye === 1 && end.messages === 4, 'C end event ' + JSON.stringify(end))
  assert.ok(!peer.events.some((e) => e.event === 'error'))
  step(label + ': orderly close, C exit 0')
  js.destroy()
  if (server) server.close()
}

async function main () {
  assert.ok(fs.existsSync(PEER), 'ss_peer driver not found at ' + PEER + ' (set HC_SS_PEER)')
  await scenario(true)
  await scenario(false)
  console.log(`test-secret-stream: ${checks} checks passed`)
}

const timer = setTimeout(() => { console.error('test-secret-stream: timeout'); process.exit(1) }, 30000)
main().then(() => { clearTimeout(timer) }, (err) => {
  console.error(err)
  process.exit(1)
})
