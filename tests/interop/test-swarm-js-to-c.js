'use strict'
// Hyperswarm discovery, JS writers -> C reader: a JS hyperswarm peer with a hypercore 10.38.2
// (then 11.37.1) writer announces the core on a hyperdht testnet bound to 127.0.0.1;
// `hypercore clone KEY DIR --swarm --bootstrap ...` finds it by the key's discovery key,
// downloads every block (verified) and exits 0. Also: a key nobody serves gives up after
// --timeout with exit 1 and a message; a missing helper or Node names what to install.

const assert = require('node:assert')
const crypto = require('node:crypto')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const { loopbackTestnet, jsSwarm } = require('./lib/swarm-util')

async function jsWriterToC (v, root, bootstrap, testnet) {
  const label = `${v} JS writer on the swarm -> C clone --swarm`
  const writer = await u.jsCore(v)
  const blocks = await u.jsAppendBatches(writer, u.testBatches(v === 'v10' ? 3 : 4))
  const more = Array.from({ length: 200 }, (_, i) => Buffer.from(`small block ${i} `.repeat(i % 5)))
  await writer.append(more)
  blocks.push(...more)
  const swarm = jsSwarm(testnet)
  let conns = 0
  swarm.on('connection', (c) => { conns++; writer.replicate(c) })
  try {
    await u.withTimeout(swarm.join(writer.discoveryKey, { server: true, client: false }).flushed(), 30000, label + ' announce')
    const dir = path.join(root, v + '-clone')
    const r = await u.runC(['clone', h.hex(writer.key), dir, '--swarm', '--bootstrap', bootstrap, '--timeout', '30000'], { timeout: 90000 })
    assert.strictEqual(r.status, 0, `${label}: exit ${r.status}; stderr: ${r.stderr}`)
    assert.match(r.stderr, /swarm: connected to [0-9a-f]{16}/, label + ': connection shown')
    assert.match(r.stderr, /cloned \d+ blocks/, label + ': summary')
    assert.ok(conns >= 1, label + ': the JS swarm saw the connection')
    h.checkBlocks(dir, blocks, label)
    h.verifyOk(dir, label)
    await u.cMatchesJs(dir, writer, label)
    h.step(`${label}: ${blocks.length} blocks cloned and verified, state equal`)
  } finally {
    await swarm.destroy()
    await writer.close()
  }
}

async function noPeer (root, bootstrap) {
  const label = 'clone --swarm of a key nobody serves'
  const key = crypto.randomBytes(32).toString('hex')
  const t0 = Date.now()
  const r = await u.cliErr(['clone', key, path.join(root, 'nobody'), '--swarm', '--bootstrap', bootstrap, '--timeout', '3000'],
    /no peer serving [0-9a-f]{64} was found on the swarm within 3\.0 s/, { timeout: 60000 }, label)
  const dt = Date.now() - t0
  assert.ok(dt >= 3000 && dt < 30000, `${label}: gave up after ${dt} ms`)
  h.step(`${label}: exit 1 after ${dt} ms with a clear message`)
}

async function missingHelper (root, bootstrap) {
  const key = crypto.randomBytes(32).toString('hex')
  await u.cliErr(['clone', key, path.join(root, 'nohelper'), '--swarm', '--bootstrap', bootstrap],
    /helper is not installed at .*: run 'npm ci --prefix/, { env: { HC_SWARM_HELPER: path.join(root, 'missing', 'helper.js') } }, 'missing helper')
  await u.cliErr(['clone', key, path.join(root, 'nonode'), '--swarm', '--bootstrap', bootstrap],
    /Node\.js not found .*install it with/, { env: { HC_NODE: path.join(root, 'no-such-node') } }, 'missing node')
  h.step('a missing helper or Node.js: exit 1 naming the command that installs it')
}

h.main(async () => {
  const root = h.tmpdir('hc-swarm-js-c-')
  const { testnet, bootstrap } = await loopbackTestnet(3)
  try {
    for (const v of u.VERSIONS) await jsWriterToC(v, root, bootstrap, testnet)
    await noPeer(root, bootstrap)
    await missingHelper(root, bootstrap)
  } finally {
    await testnet.destroy()
  }
})
