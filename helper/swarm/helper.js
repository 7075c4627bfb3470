#!/usr/bin/env node
// libhypercore's Hyperswarm helper: runs the real hyperswarm 4.17.2 / hyperdht 6.34.0 for a C
// process and relays every connection's plaintext messages over the socketpair it inherited
// as fd 3 (no filesystem name: nobody else can connect). Spawned by hc_discovery_new
// (src/discovery.c); the frame protocol is described in src/swarm_proto.h.
//
// Frame: uint32le length (of what follows) | uint8 type | body.
//   C -> helper: CONFIG, JOIN, LEAVE, DATA, CLOSE, PING
//   helper -> C: READY, CONNECTION, DATA, CLOSED, ERROR, PONG, JOINED
// The helper exits when the socketpair closes (the C process ended or closed it).
'use strict'

const net = require('net')
const Hyperswarm = require('hyperswarm')
const DHT = require('hyperdht')

const T = {
  CONFIG: 0x01,
  JOIN: 0x02,
  LEAVE: 0x03,
  DATA: 0x04,
  CLOSE: 0x05,
  PING: 0x06,
  READY: 0x81,
  CONNECTION: 0x82,
  H_DATA: 0x83,
  CLOSED: 0x84,
  ERROR: 0x85,
  PONG: 0x86,
  JOINED: 0x87
}
const MAX_FRAME = 0x1000000 + 64 // one secret-stream message and a small header

const ipc = new net.Socket({ fd: 3, readable: true, writable: true })
let swarm = null
let dht = null
let closing = false
let nextId = 1
const conns = new Map() // id -> { conn, announced, queue }
let inPaused = 0 // connections whose writes are waiting for 'drain' (IPC reading paused)
let outPaused = false // IPC writes waiting for 'drain' (connections paused)

function frame(type, ...parts) {
  let len = 1
  for (const p of parts) len += p.length
  const buf = Buffer.allocUnsafe(4 + len)
  buf.writeUInt32LE(len, 0)
  buf[4] = type
  let o = 5
  for (const p of parts) {
    p.copy ? p.copy(buf, o) : Buffer.from(p).copy(buf, o)
    o += p.length
  }
  return buf
}

function u32(n) {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32LE(n >>> 0, 0)
  return b
}

function send(buf) {
  if (ipc.destroyed) return
  if (!ipc.write(buf) && !outPaused) {
    // the C side is slower than the peers: stop reading from them until it catches up
    outPaused = true
    for (const c of conns.values()) c.conn.pause()
    ipc.once('drain', () => {
      outPaused = false
      for (const c of conns.values()) c.conn.resume()
    })
  }
}

function sendError(msg) {
  send(frame(T.ERROR, Buffer.from(String(msg).slice(0, 1000))))
}

function parseBootstrap(s) {
  if (!s) return undefined // hyperdht's public bootstrap nodes
  return s.split(',').filter(Boolean).map((hp) => {
    const i = hp.lastIndexOf(':')
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) }
  })
}

function onConfig(body) {
  if (swarm) return sendError('CONFIG sent twice')
  if (body.length < 33) return sendError('short CONFIG')
  const flags = body[0]
  const seed = body.subarray(1, 33)
  const bootstrap = parseBootstrap(body.subarray(33).toString())
  const loopback = (flags & 1) !== 0
  // On a private loopback network (tests) bind 127.0.0.1 only and run unfirewalled: the
  // machine's other addresses are never used and no holepunch is needed. On the public DHT
  // hyperdht's defaults apply (all interfaces, firewall detection, holepunching).
  const dhtOpts = loopback
    ? { bootstrap, host: '127.0.0.1', firewalled: false }
    : { bootstrap }
  dht = new DHT(dhtOpts)
  swarm = new Hyperswarm({ keyPair: DHT.keyPair(Buffer.from(seed)), dht })
  swarm.on('connection', onConnection)
  send(frame(T.READY, swarm.keyPair.publicKey))
}

function onConnection(conn, info) {
  if (closing) return conn.destroy()
  const id = nextId++
  const c = { conn, announced: false, queue: [] }
  conns.set(id, c)
  if (outPaused) conn.pause()
  conn.on('data', (msg) => {
    const f = frame(T.H_DATA, u32(id), msg)
    if (c.announced) send(f)
    else c.queue.push(f)
  })
  let lastError = null
  conn.on('error', (err) => { lastError = err }) // reported with 'close'
  conn.on('close', () => {
    if (!conns.has(id)) return
    conns.delete(id)
    const why = lastError ? String(lastError.message || lastError).slice(0, 500) : ''
    send(frame(T.CLOSED, u32(id), Buffer.from(why)))
  })
  const announce = () => {
    if (c.announced || !conns.has(id)) return
    c.announced = true
    send(
      frame(
        T.CONNECTION,
        u32(id),
        Buffer.from([conn.isInitiator ? 1 : 0]),
        conn.remotePublicKey,
        conn.handshakeHash
      )
    )
    for (const f of c.queue) send(f)
    c.queue = []
  }
  if (conn.handshakeHash) announce()
  else conn.once('handshake', announce)
}

function onFrame(type, body) {
  if (type === T.CONFIG) return onConfig(body)
  if (!swarm) return sendError('CONFIG must come first')
  switch (type) {
    case T.JOIN: {
      if (body.length !== 33) return sendError('bad JOIN')
      const topic = Buffer.from(body.subarray(0, 32))
      const server = (body[32] & 1) !== 0
      const client = (body[32] & 2) !== 0
      const d = swarm.join(topic, { server, client })
      d.flushed().then(
        () => send(frame(T.JOINED, topic)),
        (err) => sendError('join: ' + err.message)
      )
      return
    }
    case T.LEAVE: {
      if (body.length !== 32) return sendError('bad LEAVE')
      swarm.leave(Buffer.from(body)).catch((err) => sendError('leave: ' + err.message))
      return
    }
    case T.DATA: {
      if (body.length < 4) return sendError('bad DATA')
      const c = conns.get(body.readUInt32LE(0))
      if (!c) return // closed meanwhile: the C side learns it from CLOSED
      // copy: the frame's bytes are a view into our read buffer
      if (!c.conn.write(Buffer.from(body.subarray(4)))) {
        // this peer is slower than the C side: stop reading from C until it drains
        inPaused++
        ipc.pause()
        let done = false
        const resume = () => {
          if (done) return
          done = true
          c.conn.off('drain', resume)
          c.conn.off('close', resume)
          if (--inPaused === 0) ipc.resume()
        }
        c.conn.on('drain', resume)
        c.conn.on('close', resume)
      }
      return
    }
    case T.CLOSE: {
      if (body.length !== 4) return sendError('bad CLOSE')
      const c = conns.get(body.readUInt32LE(0))
      if (c) c.conn.destroy()
      return
    }
    case T.PING: {
      if (body.length !== 4) return sendError('bad PING')
      const peers = swarm.peers ? swarm.peers.size : 0
      const nodes = typeof swarm.dht.toArray === 'function' ? swarm.dht.toArray().length : 0
      send(frame(T.PONG, body, u32(conns.size), u32(peers), u32(nodes)))
      return
    }
    default:
      return sendError('unknown frame type ' + type)
  }
}

let pending = Buffer.alloc(0)
ipc.on('data', (chunk) => {
  pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
  let o = 0
  while (pending.length - o >= 4) {
    const len = pending.readUInt32LE(o)
    if (len < 1 || len > MAX_FRAME) {
      sendError('bad frame length ' + len)
      return shutdown(1)
    }
    if (pending.length - o - 4 < len) break
    const type = pending[o + 4]
    const body = pending.subarray(o + 5, o + 4 + len)
    o += 4 + len
    try {
      onFrame(type, body)
    } catch (err) {
      sendError(err.message)
    }
  }
  pending = o === pending.length ? Buffer.alloc(0) : pending.subarray(o)
})

async function shutdown(code) {
  if (closing) return
  closing = true
  const force = setTimeout(() => process.exit(code), 3000)
  try {
    if (swarm) await swarm.destroy() // unannounces every topic, closes every connection
    if (dht && !dht.destroyed) await dht.destroy()
  } catch {}
  clearTimeout(force)
  process.exit(code)
}

ipc.on('end', () => shutdown(0))
ipc.on('close', () => shutdown(0))
ipc.on('error', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => {}) // the C process decides (a terminal's ^C reaches us too)
process.on('uncaughtException', (err) => {
  try {
    sendError('helper: ' + (err && err.stack ? err.stack : err))
  } catch {}
  shutdown(1)
})
