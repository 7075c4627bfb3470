// Generates tests/wire_vectors.h from ../shared/vectors/{vectors.json,wire/wire-vectors.json}:
// every plaintext protomux frame, split into control/channel items, with the hypercore message
// rendered as canonical text (from the recorded decoding, or from hypercore@10.38.2's own
// decoders for vectors.json's illustrative capture). Run:
//   NODE_PATH=/work/scratch/node_modules node tests/gen/wire-vectors-h.js > tests/wire_vectors.h
const fs = require('fs')
const path = require('path')
const c = require('compact-encoding')
const m = require('hc10/lib/messages.js')
const m11 = require('hc11/lib/messages.js')

const shared = process.env.HC_SHARED || path.join(__dirname, '../../../shared')
const vec = JSON.parse(fs.readFileSync(path.join(shared, 'vectors/vectors.json')))
const wv = JSON.parse(fs.readFileSync(path.join(shared, 'vectors/wire/wire-vectors.json')))

const NAMES = ['sync', 'request', 'cancel', 'data', 'noData', 'want', 'unwant', 'bitfield', 'range', 'extension']
const hex = (b) => (b == null ? 'null' : typeof b === 'string' ? b : Buffer.from(b).toString('hex'))
const nodes = (a) => '[' + a.map((n) => `${n.index}:${n.size}:${hex(n.hash)}`).join(',') + ']'

function render (name, f) {
  switch (name) {
    case 'sync':
      return `sync fork=${f.fork} length=${f.length} remoteLength=${f.remoteLength} canUpgrade=${+f.canUpgrade} uploading=${+f.uploading} downloading=${+f.downloading} hasManifest=${+f.hasManifest}`
    case 'request': {
      const b = f.block ? `${f.block.index}/${f.block.nodes}` : 'null'
      const h = f.hash ? `${f.hash.index}/${f.hash.nodes}` : 'null'
      const s = f.seek ? `${f.seek.bytes}/${f.seek.padding}` : 'null'
      const u = f.upgrade ? `${f.upgrade.start}/${f.upgrade.length}` : 'null'
      return `request id=${f.id} fork=${f.fork} block=${b} hash=${h} seek=${s} upgrade=${u} manifest=${+f.manifest} priority=${f.priority}`
    }
    case 'cancel': case 'noData':
      return `${name} request=${f.request}`
    case 'data': {
      const b = f.block ? `{${f.block.index} ${hex(f.block.value)} ${nodes(f.block.nodes)}}` : 'null'
      const h = f.hash ? `{${f.hash.index} ${nodes(f.hash.nodes)}}` : 'null'
      const s = f.seek ? `{${f.seek.bytes} ${nodes(f.seek.nodes)}}` : 'null'
      const u = f.upgrade ? `{${f.upgrade.start} ${f.upgrade.length} ${nodes(f.upgrade.nodes)} ${nodes(f.upgrade.additionalNodes)} ${hex(f.upgrade.signature)}}` : 'null'
      const mf = f.manifest ? 'present' : 'null'
      return `data request=${f.request} fork=${f.fork} block=${b} hash=${h} seek=${s} upgrade=${u} manifest=${mf}`
    }
    case 'want': case 'unwant':
      return `${name} start=${f.start} length=${f.length}`
    case 'range':
      return `range drop=${+f.drop} start=${f.start} length=${f.length}`
    case 'bitfield':
      return `bitfield start=${f.start} words=${hex(Buffer.from(f.bitfield.buffer, f.bitfield.byteOffset, f.bitfield.byteLength))}`
    case 'extension':
      return `extension name=${f.name} message=${hex(f.message)}`
  }
  throw new Error('unknown ' + name)
}

function decodeWith (type, payloadHex) {
  const enc = m.wire[NAMES[type]]
  return render(NAMES[type], enc.decode({ buffer: Buffer.from(payloadHex, 'hex'), start: 0, end: payloadHex.length / 2 }))
}

// Splits a protomux frame into items like a receiver (reference decoding of the framing).
function splitFrame (buf) {
  const st = { buffer: buf, start: 0, end: buf.length }
  const ch = c.uint.decode(st)
  const items = []
  if (ch !== 0) {
    const type = c.uint.decode(st)
    items.push({ channel: ch, type, payload: hex(buf.subarray(st.start)) })
    return { kind: 'message', items }
  }
  const ctype = c.uint.decode(st)
  if (ctype !== 0) return { kind: 'control', ctype, items }
  let cur = c.uint.decode(st)
  while (st.start < st.end) {
    const len = c.uint.decode(st)
    if (len === 0) { cur = c.uint.decode(st); continue }
    const sub = buf.subarray(st.start, st.start + len)
    st.start += len
    const s2 = { buffer: sub, start: 0, end: sub.length }
    const type = c.uint.decode(s2)
    items.push({ channel: cur, type, payload: hex(sub.subarray(s2.start)) })
  }
  return { kind: 'batch', items }
}

const frames = []
for (const f of wv.frames) {
  if (f.layer !== 'transport') continue
  const p = f.protomux
  const rec = { src: `wire-vectors seq ${f.seq}`, from: f.from, plaintext: f.plaintext, items: [], open: null }
  if (p.channel === 0 && p.control === 'open') {
    rec.open = { localId: p.localId, protocol: p.protocol, id: p.id, handshake: p.handshakePayload, seeks: p.hypercoreHandshake.seeks, capability: p.hypercoreHandshake.capability }
  } else if (p.channel === 0 && p.control === 'batch') {
    for (const it of p.items) rec.items.push({ channel: it.channel, type: it.type, payload: it.payload, text: render(it.hypercore.name, it.hypercore.fields) })
  } else if (p.channel !== 0) {
    rec.items.push({ channel: p.channel, type: p.type, payload: p.payload, text: render(p.hypercore.name, p.hypercore.fields) })
  } else {
    throw new Error('unexpected control ' + JSON.stringify(p))
  }
  // cross-check the JSON's decoding against the reference decoders
  for (const it of rec.items) {
    if (decodeWith(it.type, it.payload) !== it.text) throw new Error('mismatch ' + rec.src)
  }
  frames.push(rec)
}
vec.wire.plaintext.forEach((f, i) => {
  const buf = Buffer.from(f.hex, 'hex')
  const rec = { src: `vectors.json wire.plaintext[${i}]`, from: f.dir.split('->')[0], plaintext: f.hex, items: [], open: null }
  const sp = splitFrame(buf)
  if (sp.kind === 'control') {
    const st = { buffer: buf, start: 2, end: buf.length }
    if (sp.ctype === 1) {
      const localId = c.uint.decode(st)
      const protocol = c.string.decode(st)
      const id = c.buffer.decode(st)
      const hs = buf.subarray(st.start)
      const h = m.wire.handshake.decode({ buffer: hs, start: 0, end: hs.length })
      rec.open = { localId, protocol, id: hex(id), handshake: hex(hs), seeks: h.seeks, capability: hex(h.capability) }
    } else if (sp.ctype === 3) {
      rec.close = c.uint.decode(st)
    } else throw new Error('unexpected ctype')
  } else {
    for (const it of sp.items) rec.items.push({ ...it, text: decodeWith(it.type, it.payload) })
  }
  frames.push(rec)
})


// What hypercore@11.37.1 puts on the wire where it differs from 10.38.2 (its own encoders).
const c11 = require('hc11/node_modules/compact-encoding')
const enc11 = (name, v) => c11.encode(m11.wire[name], v).toString('hex')
const b32 = (x) => Buffer.alloc(32, x)
const v11 = [
  ['sync_allowPush', enc11('sync', { fork: 3, length: 10, remoteLength: 2, canUpgrade: true, uploading: true, downloading: false, hasManifest: true, allowPush: true })],
  ['noData_reason', enc11('noData', { request: 5, reason: 2 })],
  ['noData_plain', enc11('noData', { request: 5, reason: 0 })],
  ['want_any', enc11('want', { start: 0, length: 2097152, any: true })],
  ['unwant_plain', enc11('unwant', { start: 4, length: 8, any: false })],
  ['data_manifest_v2', enc11('data', {
    request: 1, fork: 0, block: { index: 0, value: Buffer.alloc(0), nodes: [] }, hash: null, seek: null,
    upgrade: { start: 0, length: 1, nodes: [], additionalNodes: [], signature: null },
    manifest: { version: 2, hash: 'blake2b', allowPatch: false, quorum: 1, signers: [{ signature: 'ed25519', namespace: b32(1), publicKey: b32(2) }], prologue: null, linked: [b32(3)], userData: Buffer.from('ud') }
  })],
  ['request_v11', enc11('request', { id: 2, fork: 1, block: { index: 7, nodes: 3 }, hash: null, seek: { bytes: 100, padding: 0 }, upgrade: null, manifest: true, priority: 0 })]
]

const q = (s) => JSON.stringify(s)
let out = '/* Generated by tests/gen/wire-vectors-h.js from ../shared/vectors; do not edit. */\n'
out += '#ifndef HC_TEST_WIRE_VECTORS_H\n#define HC_TEST_WIRE_VECTORS_H\n\n'
out += 'typedef struct wv_item { unsigned channel, type; const char *payload; const char *text; } wv_item;\n'
out += 'typedef struct wv_frame {\n  const char *src, *from, *plaintext;\n  int is_open; unsigned open_local_id; const char *open_protocol, *open_id, *open_handshake;\n  int open_seeks; const char *open_capability;\n  int is_close; unsigned close_id;\n  unsigned nitems; wv_item items[4];\n} wv_frame;\n\n'
out += 'static const wv_frame WV_FRAMES[] = {\n'
for (const r of frames) {
  if (r.items.length > 4) throw new Error('too many items')
  const o = r.open
  out += `  {${q(r.src)}, ${q(r.from)},\n   ${q(r.plaintext)},\n`
  out += o ? `   1, ${o.localId}, ${q(o.protocol)}, ${q(o.id)}, ${q(o.handshake)}, ${+o.seeks}, ${q(o.capability)},\n` : '   0, 0, NULL, NULL, NULL, 0, NULL,\n'
  out += r.close !== undefined ? `   1, ${r.close},\n` : '   0, 0,\n'
  out += `   ${r.items.length}, {`
  out += r.items.map((it) => `{${it.channel}, ${it.type}, ${q(it.payload)},\n     ${q(it.text)}}`).join(',\n    ')
  out += '}},\n'
}
out += '};\n#define WV_NFRAMES (sizeof WV_FRAMES / sizeof WV_FRAMES[0])\n\n'
out += 'static const struct { const char *name, *hex; } WV_MSG_ENCODINGS[] = {\n'
for (const [k, v] of Object.entries(vec.messageEncodings)) out += `  {${q(k)}, ${q(v)}},\n`
out += '};\n\nstatic const struct { const char *name, *hex; } WV_V11[] = {\n'
for (const [k, v] of v11) out += `  {${q(k)}, ${q(v)}},\n`
out += '};\n\n#endif\n'
process.stdout.write(out)
