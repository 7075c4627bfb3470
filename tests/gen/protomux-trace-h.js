// Runs a scripted two-peer scenario on the real protomux@3.12.1 (in-memory streams) and writes
// tests/protomux_trace.h: the script plus every frame each side wrote and every event it saw,
// step by step. tests/test_protomux.c replays the script on hc_mux and compares.
//   NODE_PATH=/work/scratch/node_modules node tests/gen/protomux-trace-h.js > tests/protomux_trace.h
const { EventEmitter } = require('events')
const Protomux = require('protomux')
const c = require('compact-encoding')

class FakeStream extends EventEmitter {
  constructor () { super(); this.userData = null; this.destroyed = false; this.out = [] }
  write (buf) { this.out.push(Buffer.from(buf)); return true }
  pause () {}
  resume () {}
  end () {}
  destroy (err) { this.destroyed = true; this.err = err }
}

// op, side, channel name, protocol, aliases (comma list), id, data (hex or utf8), type
const DK = 'c1feb82a2b3ba065ffed9f6addcf19ac250793bcab748986a1b4272c62da20e6'
const script = [
  // b accepts unknown opens of "acc" (answering with handshake "hb-acc"), rejects the rest
  { op: 'open', side: 'a', ch: 'nope', protocol: 'nope', id: '78', data: 'h1' },
  { op: 'deliver' },
  { op: 'open', side: 'a', ch: 'main', protocol: 'hypercore/alpha', aliases: 'hypercore', id: DK, data: 'ha' },
  { op: 'open', side: 'b', ch: 'main', protocol: 'hypercore', aliases: 'hypercore/alpha', id: DK, data: 'hb' },
  { op: 'deliver' },
  { op: 'send', side: 'a', ch: 'main', type: 0, data: 'sync' },
  { op: 'cork', side: 'a' },
  { op: 'send', side: 'a', ch: 'main', type: 1, data: 'one' },
  { op: 'open', side: 'a', ch: 'acc', protocol: 'acc', id: '', data: '' },
  { op: 'send', side: 'a', ch: 'acc', type: 2, data: 'early' },
  { op: 'send', side: 'a', ch: 'main', type: 3, data: '' },
  { op: 'uncork', side: 'a' },
  { op: 'deliver' },
  { op: 'send', side: 'b', ch: 'acc', type: 9, data: 'back' },
  { op: 'cork', side: 'b' },
  { op: 'send', side: 'b', ch: 'main', type: 4, data: 'last' },
  { op: 'close', side: 'b', ch: 'main' },
  { op: 'uncork', side: 'b' },
  { op: 'deliver' },
  { op: 'open', side: 'a', ch: 'z', protocol: 'z', id: '', data: 'zz' },
  { op: 'close', side: 'a', ch: 'z' },
  { op: 'open', side: 'a', ch: 'z2', protocol: 'z2', id: '01', data: '' },
  { op: 'deliver' },
  { op: 'open', side: 'a', ch: 'w', protocol: 'acc', id: '02', data: 'w' },
  { op: 'open', side: 'b', ch: 'main2', protocol: 'hypercore/alpha', aliases: 'hypercore', id: DK, data: 'hb2' },
  { op: 'deliver' },
  { op: 'open', side: 'a', ch: 'main2', protocol: 'hypercore/alpha', aliases: 'hypercore', id: DK, data: 'ha2' },
  { op: 'send', side: 'a', ch: 'main2', type: 5, data: 'x' },
  { op: 'deliver' },
  { op: 'close', side: 'a', ch: 'acc' },
  { op: 'close', side: 'a', ch: 'w' },
  { op: 'deliver' },
  { op: 'open', side: 'a', ch: 'v', protocol: 'v', id: '', data: '' },
  { op: 'deliver' }
]

const tick = () => new Promise((resolve) => setImmediate(resolve))

async function main () {
  const sides = {}
  for (const name of ['a', 'b']) {
    const stream = new FakeStream()
    const mux = new Protomux(stream)
    sides[name] = { name, stream, mux, chans: {}, events: [], sent: 0, delivered: 0 }
  }
  const makeChannel = (s, chName, protocol, aliases, id) => {
    const ch = s.mux.createChannel({
      protocol,
      aliases: aliases ? aliases.split(',') : [],
      id: id ? Buffer.from(id, 'hex') : null,
      handshake: c.raw,
      messages: Array.from({ length: 10 }, (_, type) => ({
        encoding: c.raw,
        onmessage: (m) => s.events.push(`message ${chName} ${type} ${Buffer.from(m).toString('hex')}`)
      })),
      onopen: (hs) => s.events.push(`open ${chName} ${Buffer.from(hs || []).toString('hex')}`),
      onclose: (remote) => s.events.push(`close ${chName} ${remote ? 1 : 0}`)
    })
    if (!ch) throw new Error('createChannel failed ' + chName)
    s.chans[chName] = ch
    return ch
  }
  // b's pair handler: accept "acc"
  sides.b.mux.pair({ protocol: 'acc' }, (id) => {
    const ch = makeChannel(sides.b, 'acc', 'acc', '', id ? id.toString('hex') : '')
    ch.open(Buffer.from('hb-acc'))
  })

  const out = []
  for (const step of script) {
    const s = sides[step.side]
    const data = step.data !== undefined ? Buffer.from(step.data) : null
    if (step.op === 'open') {
      makeChannel(s, step.ch, step.protocol, step.aliases, step.id).open(data)
    } else if (step.op === 'send') {
      if (!s.chans[step.ch]) throw new Error('no channel ' + JSON.stringify(step) + ' ' + JSON.stringify(out.map((r) => r.events)))
      s.chans[step.ch].messages[step.type].send(data)
    } else if (step.op === 'cork') {
      s.mux.cork()
    } else if (step.op === 'uncork') {
      s.mux.uncork()
    } else if (step.op === 'close') {
      s.chans[step.ch].close()
    }
    await tick()
    const rec = { ...step, frames: { a: [], b: [] }, events: { a: [], b: [] } }
    const flush = (x) => { while (x.sent < x.stream.out.length) rec.frames[x.name].push(x.stream.out[x.sent++].toString('hex')) }
    if (step.op === 'deliver') {
      // deliver a's frames to b and b's to a, one at a time, until quiet
      for (;;) {
        let moved = false
        for (const [from, to] of [['a', 'b'], ['b', 'a']]) {
          const f = sides[from]; const t = sides[to]
          if (f.delivered < f.stream.out.length) {
            t.stream.emit('data', f.stream.out[f.delivered++])
            await tick(); await tick()
            moved = true
            break
          }
        }
        if (!moved) break
      }
      for (const x of Object.values(sides)) if (x.stream.destroyed) throw new Error(x.name + ' destroyed: ' + x.stream.err)
    }
    flush(sides.a); flush(sides.b)
    for (const x of Object.values(sides)) { rec.events[x.name] = x.events.splice(0) }
    out.push(rec)
  }

  const q = JSON.stringify
  let h = '/* Generated by tests/gen/protomux-trace-h.js on protomux 3.12.1; do not edit. */\n'
  h += '#ifndef HC_TEST_PROTOMUX_TRACE_H\n#define HC_TEST_PROTOMUX_TRACE_H\n\n'
  h += 'typedef struct pt_step {\n  const char *op, *side, *ch, *protocol, *aliases, *id, *data;\n  int type;\n  const char *frames_a[8], *frames_b[8];\n  const char *events_a[8], *events_b[8];\n} pt_step;\n\n'
  h += 'static const pt_step PT_STEPS[] = {\n'
  const arr = (a) => { if (a.length > 7) throw new Error('too many'); return '{' + a.map(q).concat(['NULL']).join(', ') + '}' }
  for (const r of out) {
    h += `  {${q(r.op)}, ${q(r.side || '')}, ${q(r.ch || '')}, ${q(r.protocol || '')}, ${q(r.aliases || '')}, ${q(r.id || '')}, ${q(r.data !== undefined ? Buffer.from(r.data).toString('hex') : '')}, ${r.type || 0},\n`
    h += `   ${arr(r.frames.a)}, ${arr(r.frames.b)},\n   ${arr(r.events.a)}, ${arr(r.events.b)}},\n`
  }
  h += '};\n#define PT_NSTEPS (sizeof PT_STEPS / sizeof PT_STEPS[0])\n\n#endif\n'
  process.stdout.write(h)
}
main().catch((e) => { console.error(e); process.exit(1) })
