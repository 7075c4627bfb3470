'use strict'
// Hypercore extensions between a C peer (tests/interop/ext_peer.c, HC_EXT_PEER) and
// core.registerExtension in hypercore 10.38.2 and 11.37.1, both connection directions:
// messages both ways, the elided name of repeated messages, and an unknown extension name
// (dropped with a warning on the C side, the connection survives).
const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const r = require('./lib/repl-util')

const PEER = process.env.HC_EXT_PEER || path.join(process.env.HC_BUILD || '', 'tests', 'ext_peer')
const NAME = 'test/echo'

function spawnPeer (args) {
  const saved = process.env.HYPERCORE_BIN
  process.env.HYPERCORE_BIN = PEER
  try { return r.spawnC(args) } finally { process.env.HYPERCORE_BIN = saved }
}

function jsExtension (core) {
  const got = []
  let wake = null
  const ext = core.registerExtension(NAME, {
    encoding: 'utf-8',
    onmessage (msg) { got.push(msg); if (wake) wake() }
  })
  return {
    ext,
    got,
    async waitFor (pred, label) {
      await r.until(() => got.some(pred), 10000, label)
    }
  }
}

h.main(async () => {
  for (const v of r.VERSIONS) {
    h.step(`${v}: JS writer serves, C peer connects; messages both ways`)
    {
      const writer = await r.jsCore(v)
      await writer.append(Buffer.from('x'))
      const e = jsExtension(writer)
      const unknown = writer.registerExtension('not/registered/in/c', { encoding: 'utf-8' })
      const js = await r.jsServe(writer)
      const dir = path.join(h.tmpdir(), 'ext-' + v)
      const peer = spawnPeer(['connect', '127.0.0.1', js.port, h.hex(writer.key), dir, NAME])
      try {
        await e.waitFor(m => m === 'hello from c', v + ' hello from C')
        e.ext.broadcast('one')
        e.ext.broadcast('two') // same name again: sent with an empty name on the wire
        await peer.waitLine(/^recv two$/, 10000)
        assert.ok(peer.lines.includes('recv one'))
        await e.waitFor(m => m === 'echo:two', v + ' echo')
        assert.ok(e.got.includes('echo:one'))
        unknown.broadcast('ignored')
        await peer.waitLine(/^warning .*not\/registered\/in\/c/, 10000)
        e.ext.broadcast('after unknown')
        await e.waitFor(m => m === 'echo:after unknown', v + ' connection survives an unknown extension')
        e.ext.broadcast('bye')
        const res = await r.waitExit(peer, 10000, 'ext_peer')
        assert.strictEqual(res.status, 0, res.stderr)
      } finally {
        await js.close()
        await writer.close()
      }
    }

    h.step(`${v}: C peer serves, JS connects; messages both ways`)
    {
      const dir = path.join(h.tmpdir(), 'ext-srv-' + v)
      h.cli(['create', dir])
      h.cli(['append', dir, 'a', 'b'])
      const peer = spawnPeer(['listen', dir, NAME])
      const port = Number((await peer.waitLine(/^port (\d+)$/, 10000))[1])
      const reader = await r.jsCore(v, h.info(dir).key)
      const e = jsExtension(reader)
      const conn = await r.jsConnect(reader, port)
      try {
        await e.waitFor(m => m === 'hello from c', v + ' hello from C server')
        e.ext.broadcast('ping')
        await e.waitFor(m => m === 'echo:ping', v + ' echo from C server')
        e.ext.broadcast('bye')
        const res = await r.waitExit(peer, 10000, 'ext_peer')
        assert.strictEqual(res.status, 0, res.stderr)
      } finally {
        conn.close()
        await reader.close()
      }
    }
  }
})
