'use strict'
// Malicious peers against the C CLI over TCP (127.0.0.1). The bad peer is built from the
// reference's own parts (@hyperswarm/secret-stream, protomux, hypercore@10.38.2 wire encodings
// and capability) around an honest hypercore 10 core, and tampers with exactly one thing.
//
// Against a C reader (`clone`, `get --connect`): bad block proofs, forged/invalid upgrades,
// forks without a valid signature, a replayed shorter upgrade, malformed frames and messages,
// oversized lengths and counts, a message for a channel never opened, a stalled handshake and
// wrong capabilities. For each: the process exits 1 with a clear message (no signal, no
// sanitizer report), `hypercore verify` passes on the reader's dir, every block present equals
// the honest one, nothing moved backwards, and the core stays readable.
//
// Against the C server (`serve`): absurd requests (huge indices, absurd upgrade ranges, a bad
// fork, seeks/hashes) are answered with noData, malformed and stalled clients are dropped, and
// other clients keep being served (a normal clone still works, during and after).

const assert = require('node:assert')
const path = require('node:path')
const c = require('compact-encoding')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const bp = require('./lib/repl-badpeer')

const { T } = bp
const HS_ENV = { HC_HANDSHAKE_TIMEOUT_MS: '1000' }
const N = 30
const honestBlocks = Array.from({ length: N }, (_, i) => i === 11 ? h.bytes(100000, i) : Buffer.from(`honest block ${i} ` + 'h'.repeat(i)))

let H = null // the honest hypercore 10 core (length N, fork 0)
let KEY = null
let PRE20 = null // a C reader dir holding the first 20 blocks (length 20, fork 0)
let REPLAY10 = null // an honest, validly signed upgrade proof for length 10 (captured then)
let EVIL = null // another key's core at fork 1, length 25 (for unsigned forks)
let FORKED = null // the writer's own key at fork 1, length 25: blocks 0-11 shared, then others
let root = null

const flip = (buf, i = 0) => { const b = Buffer.from(buf); b[i % b.length] ^= 0x40; return b }

// Encodes a data message by hand from parts (to send malformed ones).
function rawData (parts) {
  const chunks = parts.map(p => {
    if (Buffer.isBuffer(p)) return p
    return c.encode(c.uint, p)
  })
  return Buffer.concat(chunks)
}

// Checks a reader dir after an attack: readable, verifies, every local block honest, and its
// (length, fork) not moved backwards from `before` nor past what the honest writer signed.
async function checkReader (dir, before, label) {
  const inf = h.info(dir)
  h.verifyOk(dir, label)
  assert.strictEqual(inf.fork, before.fork, `${label}: fork moved from ${before.fork} to ${inf.fork}`)
  assert.ok(inf.length >= before.length, `${label}: length went back from ${before.length} to ${inf.length}`)
  assert.ok(inf.length <= N, `${label}: length ${inf.length} was never signed by the writer`)
  // the tree is the honest writer's at that length
  assert.strictEqual(inf.treeHash, h.hex(await H.treeHash(inf.length)), `${label}: tree hash at length ${inf.length}`)
  let present = 0
  for (let i = 0; i < inf.length; i++) {
    const r = h.run(['get', dir, i])
    if (r.status === 0) {
      h.assertBuf(r.stdout, honestBlocks[i], `${label}: block ${i} present after the attack`)
      present++
    } else {
      assert.strictEqual(r.status, 1, `${label}: get ${i} exited ${r.status}`)
      assert.match(r.stderr, /not available/i, `${label}: get ${i}`)
    }
  }
  return { info: inf, present }
}

// Runs `args(dir)` against a bad server running `script`; expects exit 1 and stderr ~ re.
async function attack (name, script, { re, pre = null, args = (dir, srv) => ['clone', KEY, dir, '--connect', srv.connect], closeAfterMs = 4000, env, expectOk = false, setup, core = null } = {}) {
  const label = `bad peer: ${name}`
  const dir = path.join(root, name.replace(/\W+/g, '-'))
  if (pre) h.copyDir(pre, dir)
  if (setup) setup(dir)
  const before = pre ? h.info(dir) : { length: 0, fork: 0 }
  const srv = await bp.serve(core || H, script, { closeAfterMs })
  const t0 = Date.now()
  let r
  try {
    r = await u.runC(args(dir, srv), { timeout: 20000, env })
  } finally {
    await srv.close()
  }
  const ms = Date.now() - t0
  if (expectOk) {
    assert.strictEqual(r.status, 0, `${label}: \`${r.cmd}\` exited ${r.status}; stderr: ${r.stderr.trim()}`)
  } else {
    assert.strictEqual(r.status, 1, `${label}: \`${r.cmd}\` exited ${r.status}, expected 1; stderr: ${r.stderr.trim()}`)
    assert.match(r.stderr, /^hypercore: \w+: .+/m, `${label}: no error message`)
    if (re) assert.match(r.stderr, re, `${label}: stderr`)
  }
  const exists = h.run(['info', dir]).status === 0
  let st = null
  if (exists) st = await checkReader(dir, before, label)
  const msg = r.stderr.split('\n').find(l => l.startsWith('hypercore:')) || r.stderr.trim().split('\n')[0]
  h.step(`${label}: exit ${r.status} in ${ms} ms (${msg || 'ok'})${st ? `; reader length ${st.info.length} fork ${st.info.fork}, ${st.present} honest blocks, verify OK` : ''}`)
  return { r, st, dir }
}

// An honest answer, with `mutate(data, msg)` applied when `when(msg)` (once).
function tamper (when, mutate) {
  let done = false
  return {
    async onrequest (peer, msg) {
      if (done || !when(msg)) return peer.answer(msg)
      const d = await bp.honestData(peer.core, msg)
      if (!d) return peer.answer(msg)
      done = true
      const out = mutate(d, msg, peer)
      if (out === null) return
      if (Buffer.isBuffer(out)) peer.sendRaw(T.data, out)
      else peer.send(T.data, out || d)
    }
  }
}

const isBlock = (i) => (msg) => msg.block && msg.block.index === i
const isUpgrade = (msg) => !!msg.upgrade

async function readerAttacks () {
  // (1) block proofs that do not verify
  await attack('block value flipped', tamper(isBlock(7), (d) => { d.block.value = flip(d.block.value, 3) }),
    { re: /block 7 .*does not verify/ })
  // (pipelined requests ask only for nodes no earlier request brings: tamper with the first
  // answer past block 8 that carries nodes)
  await attack('block node hash flipped', tamper((m) => m.block && m.block.index >= 9 && m.block.nodes > 0, (d) => {
    assert.ok(d.block.nodes.length > 0, 'the proof has nodes')
    d.block.nodes[0] = { ...d.block.nodes[0], hash: flip(d.block.nodes[0].hash, 5) }
  }), { re: /block (9|[1-9]\d+) .*does not verify/ })
  // Pipelined requests count on earlier answers for their upper nodes. An honest peer that
  // answers out of order makes some answers unverifiable on arrival: the reader must ask those
  // blocks again with every node they lack, and finish with every block (no error).
  const asked = new Map() // block index -> the `nodes` of each request for it
  const reversed = await attack('honest answers in reverse order', {
    held: [],
    timer: null,
    async onrequest (peer, msg) {
      if (!msg.block) return peer.answer(msg)
      if (!asked.has(msg.block.index)) asked.set(msg.block.index, [])
      asked.get(msg.block.index).push(msg.block.nodes)
      this.held.push(msg)
      if (this.timer) return
      this.timer = setTimeout(async () => {
        const q = this.held.reverse()
        this.held = []
        this.timer = null
        for (const m of q) await peer.answer(m)
      }, 30)
    }
  }, { expectOk: true })
  assert.strictEqual(reversed.st.info.length, N, 'reverse order: full length')
  assert.strictEqual(reversed.st.present, N, 'reverse order: every block')
  const again = [...asked].filter(([, n]) => n.length > 1)
  assert.ok(again.length > 0, 'reverse order: some blocks were asked again')
  for (const [i, n] of again) assert.ok(n[n.length - 1] > n[0], `block ${i} asked again with more nodes: ${n}`)
  h.step(`reverse order: ${asked.size} blocks, ${again.length} asked again with more nodes`)
  // ... but a peer whose proofs stop short every time is lying: the exact request fails
  await attack('block proofs stripped of their nodes', {
    async onrequest (peer, msg) {
      if (!msg.block || msg.block.index < 9 || msg.block.nodes === 0) return peer.answer(msg)
      const d = await bp.honestData(peer.core, msg)
      d.block.nodes = []
      peer.send(T.data, d)
    }
  }, { re: /block \d+ .*does not verify/ })
  await attack('block node index wrong', tamper(isBlock(4), (d) => {
    d.block.nodes[0] = { ...d.block.nodes[0], index: d.block.nodes[0].index + 2 }
  }), { re: /block 4 .*does not verify|malformed/ })
  await attack('block answer for another index', {
    async onrequest (peer, msg) {
      if (!isBlock(3)(msg)) return peer.answer(msg)
      const d = await bp.honestData(peer.core, { ...msg, block: { index: 4, nodes: msg.block.nodes } })
      peer.send(T.data, d)
    }
  }, { re: /does not answer request for block 3/ })
  await attack('big block value truncated', tamper(isBlock(11), (d) => { d.block.value = d.block.value.subarray(0, 99999) }),
    { re: /block 11 .*does not verify/ })
  await attack('get --connect: block value flipped', tamper(isBlock(13), (d) => { d.block.value = flip(d.block.value, 0) }), {
    re: /get: .*block 13 .*does not verify/,
    setup: (dir) => h.cli(['create', dir, '--key', KEY]),
    args: (dir, srv) => ['get', dir, 13, '--connect', srv.connect, '--timeout', 10000]
  })

  // (2) forged upgrades
  await attack('upgrade signature forged', tamper(isUpgrade, (d) => { d.upgrade.signature = flip(d.upgrade.signature, 10) }),
    { re: /upgrade .*does not verify/ })
  await attack('upgrade node hash flipped', tamper(isUpgrade, (d) => {
    d.upgrade.nodes[0] = { ...d.upgrade.nodes[0], hash: flip(d.upgrade.nodes[0].hash, 1) }
  }), { re: /upgrade .*does not verify/ })
  await attack('upgrade with a longer length than signed', tamper(isUpgrade, (d) => { d.upgrade.length += 2 }),
    { re: /upgrade .*does not verify|malformed/ })
  await attack('upgrade signature empty', tamper(isUpgrade, (d) => { d.upgrade.signature = Buffer.alloc(0) }),
    { re: /upgrade .*does not verify/ })
  await attack('get --connect: upgrade signature forged', tamper(isUpgrade, (d) => { d.upgrade.signature = flip(d.upgrade.signature, 3) }), {
    re: /get: .*upgrade .*does not verify/,
    setup: (dir) => h.cli(['create', dir, '--key', KEY]),
    args: (dir, srv) => ['get', dir, 2, '--connect', srv.connect, '--timeout', 10000]
  })

  // (3) shorter or forked trees without a valid signature
  await attack('fork to another key\'s tree', {
    onopen (peer) { peer.syncOverride = { fork: 1, length: 25 }; peer.sendSync(peer.syncOverride); peer.sendRange(0, 25) },
    async onrequest (peer, msg) {
      if (msg.fork === 1 && msg.upgrade) {
        const d = await bp.honestData(EVIL, { ...msg, manifest: false })
        d.manifest = null
        return peer.send(T.data, d)
      }
      return peer.send(T.noData, { request: msg.id })
    }
  }, { pre: PRE20, re: /fork proof .*does not verify/ })
  await attack('fork proof with a flipped signature', {
    onopen (peer) { peer.syncOverride = { fork: 1, length: 25 }; peer.sendSync(peer.syncOverride); peer.sendRange(0, 25) },
    async onrequest (peer, msg) {
      if (msg.fork === 1 && msg.upgrade) {
        const d = await bp.honestData(EVIL, { ...msg, manifest: false })
        d.manifest = null
        // re-sign? no: keep EVIL's nodes but claim the honest writer signed (flip a bit)
        d.upgrade.signature = flip(d.upgrade.signature, 7)
        return peer.send(T.data, d)
      }
      return peer.send(T.noData, { request: msg.id })
    }
  }, { pre: PRE20, re: /fork proof .*does not verify/ })
  // a genuine fork (signed with the writer's key): the reader looks for the exact fork point
  // with `hash` requests; lies in those answers fail the connection and change nothing
  const stripHash = (flipNode) => ({
    async onrequest (peer, msg) {
      if (!msg.hash) return peer.answer(msg)
      const d = await bp.honestData(peer.core, msg)
      if (flipNode) d.hash.nodes[0] = { ...d.hash.nodes[0], hash: flip(d.hash.nodes[0].hash, 9) }
      else d.hash.nodes = d.hash.nodes.slice(1)
      peer.send(T.data, d)
    }
  })
  for (const [name, flipNode] of [['hash node flipped', true], ['hash path cut short', false]]) {
    await attack(`fork search: ${name}`, stripHash(flipNode), {
      pre: PRE20, core: FORKED, re: /fork 1: the hashes of block \d+ do not verify|malformed/
    })
  }
  {
    const dir = path.join(root, 'fork-honest')
    h.copyDir(PRE20, dir)
    const srv = await bp.serve(FORKED, {})
    let r
    try { r = await u.runC(['clone', KEY, dir, '--connect', srv.connect], { timeout: 20000 }) } finally { await srv.close() }
    assert.strictEqual(r.status, 0, `honest fork: ${r.stderr}`)
    assert.match(r.stderr, /cloned 13 blocks, .*length 25, fork 1/, 'honest fork: only the 13 blocks after the fork point')
    h.verifyOk(dir, 'honest fork')
    h.step('genuine fork: the reader kept blocks 0-11 and fetched 13')
  }
  await attack('shorter tree: replayed old signed upgrade', {
    async onrequest (peer, msg) {
      if (msg.upgrade) return peer.send(T.data, { ...REPLAY10, request: msg.id, fork: 0 })
      return peer.answer(msg)
    }
  }, { pre: PRE20, re: /upgrade|does not|protocol|closed/ })
  // a remote that claims less than we have: nothing to fetch, the clone is complete, nothing lost
  const short = await attack('shorter tree: sync claims fork 0 length 5', {
    onopen (peer) { peer.syncOverride = { length: 5 }; peer.sendSync(peer.syncOverride); peer.sendRange(0, 5) }
  }, { pre: PRE20, expectOk: true })
  assert.strictEqual(short.st.info.length, 20)

  // (4) malformed frames
  await attack('garbage protomux frame (truncated varint)', { onopen (peer) { peer.sendFrame([0xfd, 0x01]) } },
    { re: /protomux|frame|malformed/ })
  await attack('garbage control frame (open, truncated)', { onopen (peer) { peer.sendFrame([0x00, 0x01, 0xff, 0xff]) } },
    { re: /protomux|frame|malformed/ })
  await attack('garbage batch frame', { onopen (peer) { peer.sendFrame([0x00, 0x00, 0x01, 0xfe, 0xff, 0xff, 0xff, 0x7f, 0x01]) } },
    { re: /protomux|frame|malformed/ })
  await attack('truncated sync message', { onopen (peer) { peer.sendRaw(T.sync, [0x01, 0x00]) } },
    { re: /malformed sync/ })
  await attack('truncated data message', tamper(isBlock(5), (d) => {
    const full = c.encode(bp.ENC[T.data], d)
    return full.subarray(0, full.length >> 1)
  }), { re: /malformed data/ })
  await attack('truncated range message', { onopen (peer) { peer.sendSync(); peer.sendRaw(T.range, [0x00]) } },
    { re: /malformed range/ })
  await attack('truncated noData message', {
    async onrequest (peer, msg) {
      if (isBlock(6)(msg)) return peer.sendRaw(T.noData, [0xfe, 0x01])
      return peer.answer(msg)
    }
  }, { re: /malformed/ })

  // (5) oversized lengths / counts
  await attack('block value length beyond the frame', tamper(isBlock(2), (d, msg) => {
    return rawData([1, msg.id, 0, 2, Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]), Buffer.from('abcd')])
  }), { re: /malformed data/ })
  await attack('huge node array count', tamper(isBlock(2), (d, msg) => {
    return rawData([1, msg.id, 0, 2, 0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), 0])
  }), { re: /malformed data/ })
  await attack('huge upgrade node count', tamper(isUpgrade, (d, msg) => {
    return rawData([8, msg.id, 0, 0, N, Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff])])
  }), { re: /malformed data/ })
  await attack('huge bitfield word count', { onopen (peer) { peer.sendSync(); peer.sendRaw(T.bitfield, [0x00, 0xfe, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]) } },
    { re: /malformed bitfield/ })
  await attack('huge manifest length', tamper(isUpgrade, (d, msg) => {
    return rawData([16, msg.id, 0, Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x7f])])
  }), { re: /malformed data|manifest|does not verify/ })

  // secret-stream level: an encrypted frame's uint24 length too small for its MAC, and one
  // announcing 16 MiB that never comes (bounded buffering; ends when the peer goes away)
  await attack('secret-stream frame shorter than its MAC', { onopen (peer) { peer.socket.write(Buffer.from([0x05, 0x00, 0x00, 1, 2, 3, 4, 5])) } },
    { re: /secret-stream frame rejected/ })
  await attack('secret-stream frame length 16 MiB, never sent', { onopen (peer) { peer.socket.write(Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(1000, 9)])) } },
    { re: /closed/, closeAfterMs: 1500 })
  await attack('secret-stream frame with a corrupt MAC', { onopen (peer) { peer.socket.write(Buffer.concat([Buffer.from([0x20, 0x00, 0x00]), Buffer.alloc(32, 3)])) } },
    { re: /secret-stream frame rejected/ })

  // (6) a message for a channel id the remote never opened: libhypercore's protomux fails the
  // connection (protomux 3.12.1 would ignore it; stricter is fine for a peer that lies)
  await attack('message on a channel never opened', {
    onopen (peer) { peer.sendFrame([0x05, 0x03, 0x01, 0x01, 0x00, 0x00]); peer.sendSync(); peer.sendRange() }
  }, { re: /protomux frame: protocol violation/ })
  await attack('message on a huge channel id', {
    onopen (peer) { peer.sendFrame([0xfe, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00]); peer.sendSync(); peer.sendRange() }
  }, { re: /protomux frame: protocol violation/ })

  // (7) stalls in the handshake: the C side gives up (HC_HANDSHAKE_TIMEOUT_MS=1000 here)
  await attack('stall: responder never answers Noise msg 1', { raw (sock) { sock.on('data', () => {}) } },
    { env: HS_ENV, re: /handshake timed out/, closeAfterMs: 15000 })
  await attack('stall: half of Noise msg 2, then nothing', {
    raw (sock) { sock.once('data', () => sock.write(Buffer.from([0x60, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]))) }
  }, { env: HS_ENV, re: /handshake timed out/, closeAfterMs: 15000 })
  await attack('get --connect: stall in the handshake', { raw (sock) { sock.on('data', () => {}) } }, {
    env: HS_ENV,
    re: /handshake timed out/,
    closeAfterMs: 15000,
    setup: (dir) => h.cli(['create', dir, '--key', KEY]),
    args: (dir, srv) => ['get', dir, 0, '--connect', srv.connect, '--timeout', 10000]
  })
  await attack('garbage instead of Noise msg 2', { raw (sock) { sock.once('data', () => sock.write(Buffer.from([0x30, 0, 0, ...Buffer.alloc(48, 7)]))) } },
    { re: /handshake/i })

  // (8) wrong capabilities
  await attack('capability of the wrong role', { capability: (peer) => peer.capability(true) },
    { re: /invalid replication capability/ })
  await attack('capability for another key', { capability: (peer) => peer.capability(false, EVIL.key) },
    { re: /invalid replication capability/ })
  await attack('capability zeroed', { capability: () => Buffer.alloc(32) },
    { re: /invalid replication capability/ })
}

// ---------- the C server against a malicious client ----------

async function serverAttacks () {
  const sdir = path.join(root, 'server')
  h.cli(['create', sdir])
  u.cAppendBatches(sdir, [honestBlocks])
  const si = h.info(sdir)
  const server = await u.startCServer(sdir, { env: HS_ENV })
  const reader = await u.jsCore('v10', server.key) // the bad client's core (a reader)
  try {
    // 1. absurd requests: every one answered with noData, the connection stays up
    const replies = new Map()
    const peer = await bp.connect(reader, server.port, {
      onopen (p) { p.sendSync({ length: 0, canUpgrade: false }) },
      onmessage (p, type, msg) {
        if (type === T.noData) replies.set(msg.request, 'noData')
        if (type === T.data) replies.set(msg.request, msg)
      }
    })
    await u.until(async () => peer.remoteOpened, 5000, 'bad client: channel open')
    const BIG = 2 ** 52
    const reqs = [
      { id: 101, fork: 0, block: { index: BIG, nodes: 0 } },
      { id: 102, fork: 0, block: { index: N, nodes: 0 } },
      { id: 103, fork: 0, upgrade: { start: 0, length: BIG } },
      { id: 104, fork: 0, upgrade: { start: 5, length: 1000 } },
      { id: 105, fork: 0, upgrade: { start: BIG, length: 1 } },
      { id: 106, fork: 7, block: { index: 0, nodes: 0 } },
      { id: 107, fork: 7, upgrade: { start: 0, length: N } },
      { id: 108, fork: 0, seek: { bytes: BIG, padding: 0 } },
      { id: 109, fork: 0, hash: { index: BIG, nodes: 0 } },
      { id: 110, fork: 0, block: { index: 3, nodes: 0 }, upgrade: { start: 0, length: N + 1 } },
      { id: 111, fork: 0, upgrade: { start: N, length: 0 } },
      { id: 112, fork: 0, block: { index: 3, nodes: 2 ** 40 } },
      { id: 113, fork: 0, hash: { index: 5, nodes: 0 } },
      { id: 114, fork: 0, block: { index: 25, nodes: 0 }, upgrade: { start: 20, length: 10 } },
      { id: 115, fork: 0, seek: { bytes: 5, padding: 0 }, block: { index: 25, nodes: 0 }, upgrade: { start: 20, length: 10 } },
      { id: 116, fork: 0, seek: { bytes: 2 ** 40, padding: 2 ** 40 }, upgrade: { start: 0, length: N } },
      { id: 117, fork: 0, block: { index: 0, nodes: 0 }, manifest: true, upgrade: { start: 0, length: 1 } }
    ]
    for (const q of reqs) {
      peer.send(T.request, { block: null, hash: null, seek: null, upgrade: null, manifest: false, priority: 0, ...q })
    }
    // and other absurd but well-formed messages
    peer.send(T.want, { start: BIG, length: BIG })
    peer.send(T.unwant, { start: BIG, length: 1 })
    peer.send(T.cancel, { request: 999999 })
    peer.send(T.range, { drop: true, start: BIG, length: 1 })
    // a well-formed honest request last: answered with data that verifies
    peer.send(T.request, { id: 120, fork: 0, block: { index: 4, nodes: 8 }, hash: null, seek: null, upgrade: { start: 0, length: N }, manifest: true, priority: 0 })
    await u.until(async () => replies.size === reqs.length + 1, 5000, `server answers (got ${replies.size})`)
    // what the reference answers (a JS twin: same blocks, another key): noData, or data with
    // the same parts (e.g. a seek-only request gets an empty data message from both)
    const twin = await u.jsCore('v10')
    await twin.append(honestBlocks)
    const shape = (d) => d === 'noData' || !d ? 'noData' : ['block', 'hash', 'seek', 'upgrade'].filter(k => d[k]).join('+') || 'empty data'
    let nNo = 0
    for (const q of reqs) {
      const full = { block: null, hash: null, seek: null, upgrade: null, manifest: false, priority: 0, ...q }
      const ref = await bp.honestData(twin, JSON.parse(JSON.stringify(full)))
      assert.strictEqual(shape(replies.get(q.id)), shape(ref), `server answer to ${JSON.stringify(q)}: ${JSON.stringify(replies.get(q.id))}`)
      if (shape(ref) === 'noData') nNo++
    }
    assert.ok(nNo >= 10, `noData answers: ${nNo}`)
    await twin.close()
    const good = replies.get(120)
    assert.ok(good && good.block && good.block.index === 4 && good.upgrade, 'server answers an honest request after the absurd ones')
    h.assertBuf(good.block.value, honestBlocks[4], 'server block 4')
    // the reply verifies with the reference
    await reader.core.verify({ ...good, request: undefined }, null)
    assert.strictEqual(reader.length, N, 'JS applied the server proof')
    h.step(`C server: ${reqs.length} absurd requests answered as the reference does (${nNo} noData), then an honest request with data that verifies (JS)`)

    // 2. stalled (after Noise msg 1) and malformed clients, while a normal clone runs
    const stall = await bp.stallAfterMsg1(server.port)
    const garbage = await bp.connect(await u.jsCore('v10', server.key), server.port, {
      onopen (p) { p.sendFrame([0xfd, 0x01]) }
    })
    const trunc = await bp.connect(await u.jsCore('v10', server.key), server.port, {
      onopen (p) { p.sendRaw(T.request, [0x01, 0x05]) }
    })
    const wrongCap = await bp.connect(await u.jsCore('v10', server.key), server.port, {
      capability: (p) => p.capability(false)
    })
    const hugeCount = await bp.connect(await u.jsCore('v10', server.key), server.port, {
      onopen (p) { p.sendRaw(T.bitfield, [0x00, 0xfe, 0xff, 0xff, 0xff, 0x7f]) }
    })
    const d1 = path.join(root, 'server-clone-1')
    await u.cliOk(['clone', server.key, d1, '--connect', server.connect], { timeout: 20000 })
    h.assertState(h.info(d1), { length: si.length, treeHash: si.treeHash }, 'clone during attacks')
    h.verifyOk(d1, 'clone during attacks')
    await u.until(async () => garbage.closed && trunc.closed && wrongCap.closed && hugeCount.closed, 5000, 'server drops malformed clients')
    await u.until(async () => stall.socket.destroyed || stall.socket.readableEnded, 5000, 'server drops the stalled client (handshake timeout)')
    stall.close()
    h.step('C server: dropped a stalled, a garbage-frame, a truncated-message, a wrong-capability and a huge-count client; a clone meanwhile works')

    // 3. still serving afterwards (also the first bad client's connection)
    assert.strictEqual(peer.closed, false, 'the absurd-request client is still connected')
    peer.close()
    const d2 = path.join(root, 'server-clone-2')
    await u.cliOk(['clone', server.key, d2, '--connect', server.connect], { timeout: 20000 })
    h.checkBlocks(d2, honestBlocks, 'clone after attacks')
    h.verifyOk(d2, 'clone after attacks')
    assert.strictEqual(server.handle.proc.exitCode, null, 'server still running')
    h.step('C server: a clone after the attacks works')
  } finally {
    await reader.close()
    const r = await server.stop()
    if (/peer disconnected/.test(r.stderr)) console.log('# server stderr: ' + r.stderr.trim().split('\n').join(' | '))
  }
}

// A client that asks for 1 MiB blocks but does not read the answers: the server queues the
// requests (backpressure) instead of the answers, its memory stays bounded, it keeps serving
// others, and the client gets every answer, in order, once it reads again.
async function serverFlood () {
  const fs = require('node:fs')
  const dir = path.join(root, 'flood-server')
  h.cli(['create', dir])
  const big = h.bytes(1024 * 1024, 77)
  u.cAppendBatches(dir, [[big, Buffer.from('small')]])
  const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=1'].filter(Boolean).join(':')
  const server = await u.startCServer(dir, { env: { ASAN_OPTIONS: asan } })
  const rss = () => Number(fs.readFileSync(`/proc/${server.handle.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024
  const reader = await u.jsCore('v10', server.key)
  const answers = []
  const COUNT = 200
  try {
    const peer = await bp.connect(reader, server.port, {
      onopen (p) { p.sendSync({ length: 0, canUpgrade: false }) },
      onmessage (p, type, msg) { if (type === T.data || type === T.noData) answers.push(type === T.data ? msg : { noData: msg.request }) }
    })
    await u.until(async () => peer.remoteOpened, 5000, 'flood client: open')
    await u.sleep(100)
    const base = rss()
    peer.socket.pause()
    for (let i = 0; i < COUNT; i++) {
      peer.send(T.request, { id: 5000 + i, fork: 0, block: { index: i % 2, nodes: 0 }, hash: null, seek: null, upgrade: i === 0 ? { start: 0, length: 2 } : null, manifest: false, priority: 0 })
    }
    peer.send(T.cancel, { request: 5000 + COUNT - 1 }) // the last one: still queued, dropped
    await u.sleep(1500)
    const grown = rss() - base
    assert.ok(grown < 48 * 1024 * 1024, `server memory grew by ${(grown / 1048576).toFixed(1)} MiB for ${COUNT} unread 1 MiB answers`)
    // others are still served meanwhile
    const d = path.join(root, 'flood-clone')
    await u.cliOk(['clone', server.key, d, '--connect', server.connect], { timeout: 20000 })
    h.assertState(h.info(d), { length: 2 }, 'clone during a flood')
    h.verifyOk(d, 'clone during a flood')
    peer.socket.resume()
    await u.until(async () => answers.length >= COUNT - 1, 20000, `flood client gets its answers (got ${answers.length})`)
    await u.sleep(200)
    assert.strictEqual(answers.length, COUNT - 1, 'answers (the cancelled one is not answered)')
    answers.forEach((a, i) => {
      assert.strictEqual(a.request, 5000 + i, `answer ${i} in order`)
      h.assertBuf(a.block.value, i % 2 ? Buffer.from('small') : big, `answer ${i}`)
    })
    peer.close()
    h.step(`C server: ${COUNT} unread 1 MiB answers grew its memory by ${(grown / 1048576).toFixed(1)} MiB only; a clone meanwhile works; all answers arrive in order once read; a cancel drops a queued one`)
  } finally {
    await reader.close()
    await server.stop()
  }
}

h.main(async () => {
  root = h.tmpdir('hc-repl-bad-')
  // the honest writer, in stages: capture a signed upgrade at length 10; clone at 20
  H = await u.jsCore('v10')
  KEY = h.hex(H.key)
  await H.append(honestBlocks.slice(0, 10))
  REPLAY10 = await bp.honestData(H, { id: 1, fork: 0, block: null, hash: null, seek: null, upgrade: { start: 0, length: 10 }, manifest: false })
  await H.append(honestBlocks.slice(10, 20))
  PRE20 = path.join(root, 'pre20')
  const hs = await u.jsServe(H)
  await u.cliOk(['clone', KEY, PRE20, '--connect', hs.connect])
  await hs.close()
  h.assertState(h.info(PRE20), { length: 20, fork: 0, contiguousLength: 20 }, 'pre-clone at 20')
  await H.append(honestBlocks.slice(20))
  assert.strictEqual(H.length, N)
  // another writer's core at fork 1, length 25 (same first 20 blocks, then different ones)
  EVIL = await u.jsCore('v10')
  await EVIL.append(honestBlocks.slice(0, 20))
  await EVIL.truncate(12)
  await EVIL.append(Array.from({ length: 13 }, (_, i) => Buffer.from('evil ' + i)))
  assert.deepStrictEqual([EVIL.fork, EVIL.length], [1, 25])
  FORKED = await u.jsCore('v10', H.key, { keyPair: H.keyPair })
  await FORKED.append(honestBlocks.slice(0, 20))
  await FORKED.truncate(12)
  await FORKED.append(Array.from({ length: 13 }, (_, i) => Buffer.from('forked ' + i)))
  assert.deepStrictEqual([FORKED.fork, FORKED.length], [1, 25])

  await readerAttacks()
  await serverAttacks()
  await serverFlood()
})
