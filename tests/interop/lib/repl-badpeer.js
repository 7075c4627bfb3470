'use strict'
// A scriptable hypercore peer for the bad-peer tests, built from the same parts as the
// reference: @hyperswarm/secret-stream (Noise XX), protomux, and hypercore@10.38.2's wire
// encodings (lib/messages.js) and capability (lib/caps.js). Proofs come from an honest
// hypercore 10 core (core.core.tree.proof + blocks), so a script can answer honestly and
// tamper with exactly one thing. All channel messages are sent/received raw, so a script can
// also send malformed payloads.

const net = require('node:net')
const { Duplex } = require('node:stream')
const c = require('compact-encoding')
const NoiseSecretStream = require('@hyperswarm/secret-stream')
const Protomux = require('protomux')
const m = require('hc10/lib/messages')
const caps = require('hc10/lib/caps')

const HOST = '127.0.0.1'
const T = { sync: 0, request: 1, cancel: 2, data: 3, noData: 4, want: 5, unwant: 6, bitfield: 7, range: 8, extension: 9 }
const ENC = [m.wire.sync, m.wire.request, m.wire.cancel, m.wire.data, m.wire.noData, m.wire.want, m.wire.unwant, m.wire.bitfield, m.wire.range, m.wire.extension]

// The honest answer of `core` (a hypercore 10 session) to a decoded request (lib/replicator.js
// _getProof), as a wire.data object; null when it has nothing (the reference sends noData).
async function honestData (core, msg) {
  const inner = core.core
  if (msg.fork !== inner.tree.fork) return null
  let proof
  try {
    proof = await inner.tree.proof(msg)
  } catch {
    return null
  }
  if (proof.block) {
    if (!inner.bitfield.get(msg.block.index)) return null
    proof.block.value = await inner.blocks.get(msg.block.index)
  }
  return {
    request: msg.id,
    fork: msg.fork,
    block: proof.block || null,
    hash: proof.hash || null,
    seek: proof.seek || null,
    upgrade: proof.upgrade || null,
    manifest: msg.manifest && !inner.compat ? inner.header.manifest : null
  }
}

// One connection. `script` hooks (all optional, may be async):
//   capability(peer) -> Buffer            the channel capability to send (default: correct)
//   onopen(peer)                          channel open on both sides (default: honest sync+range)
//   onrequest(peer, msg)                  a request from the remote (default: honest answer)
//   onmessage(peer, type, msg, raw)       any decoded message (after the defaults above)
//   onhandshake(peer)                     Noise done, before the channel is opened
class Peer {
  constructor (core, socket, isInitiator, script) {
    this.core = core
    this.script = script
    this.socket = socket
    this.received = [] // [{ type, msg }]
    this.closed = false
    this.remoteOpened = false
    this.acked = 0 // the remote length we acknowledged in our last sync
    this.syncOverride = null // fields forced into every default sync
    this.key = core.key
    this.discoveryKey = core.discoveryKey
    socket.on('error', () => {})
    socket.on('close', () => { this.closed = true })
    this.ns = new NoiseSecretStream(isInitiator, socket)
    this.ns.on('error', () => {})
    this.ns.on('close', () => { this.closed = true })
    this.mux = new Protomux(this.ns)
    this.ch = this.mux.createChannel({
      protocol: 'hypercore/alpha',
      aliases: ['hypercore'],
      id: this.discoveryKey,
      handshake: m.wire.handshake,
      messages: ENC.map((enc, type) => ({ encoding: c.raw, onmessage: (raw) => this._onmessage(type, raw) })),
      onopen: () => this._onopen()
    })
    this.ready = this.ns.opened.then(async (ok) => {
      if (!ok) return false
      if (script.onhandshake) await script.onhandshake(this)
      if (this.closed || !this.ch) return false
      const capability = script.capability ? script.capability(this) : this.capability()
      this.ch.open({ seeks: true, capability })
      return true
    })
  }

  capability (isInitiator = this.ns.isInitiator, key = this.key, hh = this.ns.handshakeHash) {
    return caps.replicate(isInitiator, key, hh)
  }

  send (type, obj) { this.ch.messages[type].send(c.encode(ENC[type], obj)) }
  sendRaw (type, buf) { this.ch.messages[type].send(Buffer.from(buf)) }
  // A raw protomux frame (bypasses the channel: any channel id, any bytes).
  sendFrame (buf) { this.ns.write(Buffer.from(buf)) }

  sendSync (over = {}) {
    const core = this.core
    this.send(T.sync, {
      fork: core.fork,
      length: core.length,
      remoteLength: this.acked || 0,
      canUpgrade: true,
      uploading: true,
      downloading: false,
      hasManifest: !core.core.compat && !!core.core.header.manifest,
      ...over
    })
  }

  sendRange (start = 0, length = this.core.length, drop = false) {
    this.send(T.range, { drop, start, length })
  }

  async answer (msg) {
    const d = await honestData(this.core, msg)
    if (this.closed) return
    if (d) this.send(T.data, d)
    else this.send(T.noData, { request: msg.id })
  }

  async _onopen () {
    this.remoteOpened = true
    if (this.script.onopen) await this.script.onopen(this)
    else { this.sendSync(); this.sendRange() }
  }

  async _onmessage (type, raw) {
    let msg = null
    try { msg = c.decode(ENC[type], raw) } catch { msg = { malformed: true } }
    this.received.push({ type, msg })
    try {
      // ack the remote's length like an honest peer (it only asks for upgrades once acked)
      if (type === T.sync && !msg.malformed && !this.script.onsync && msg.fork === this.core.fork && msg.length !== this.acked) {
        this.acked = msg.length
        this.sendSync(this.syncOverride || {})
      }
      if (type === T.request && !msg.malformed) {
        if (this.script.onrequest) await this.script.onrequest(this, msg)
        else await this.answer(msg)
      }
      if (this.script.onmessage) await this.script.onmessage(this, type, msg, raw)
    } catch (err) {
      if (!this.closed) console.error('# bad peer script error:', err && err.stack)
    }
  }

  close () {
    this.closed = true
    this.ns.destroy()
    this.socket.destroy()
  }
}

// A TCP server whose every connection is a Peer (responder) running `script`.
// script.raw(socket): take the raw socket instead (no Noise at all), e.g. to stall.
// closeAfterMs: each connection is dropped that long after it was accepted.
async function serve (core, script, { closeAfterMs = 0 } = {}) {
  const peers = []
  const socks = new Set()
  const server = net.createServer((sock) => {
    socks.add(sock)
    sock.on('close', () => socks.delete(sock))
    sock.on('error', () => {})
    if (closeAfterMs) setTimeout(() => sock.destroy(), closeAfterMs).unref()
    if (script.raw) return script.raw(sock)
    peers.push(new Peer(core, sock, false, script))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, resolve)
  })
  const port = server.address().port
  return {
    port,
    connect: HOST + ':' + port,
    peers,
    async close () {
      for (const s of socks) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

// Connects to a server as a Peer (initiator) running `script`.
async function connect (core, port, script = {}) {
  const sock = net.connect(port, HOST)
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  return new Peer(core, sock, true, script)
}

// Connects and sends only the first Noise message (a real one), then nothing. Returns the socket.
async function stallAfterMsg1 (port) {
  const sock = net.connect(port, HOST)
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  sock.on('error', () => {})
  let first = true
  const raw = new Duplex({
    write (data, enc, cb) {
      if (first) { first = false; sock.write(data) }
      cb()
    },
    read () {}
  })
  sock.on('data', (d) => raw.push(d))
  const ns = new NoiseSecretStream(true, raw)
  ns.on('error', () => {})
  return { socket: sock, close () { ns.destroy(); sock.destroy() } }
}

module.exports = { T, ENC, honestData, Peer, serve, connect, stallAfterMsg1, caps, messages: m }
