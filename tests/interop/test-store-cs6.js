'use strict'
// Stores: C <-> corestore 6.18.4 both ways (same keys for the same names and namespaces,
// writable on both sides, each reads the other's appends), the store lock both ways, bad
// stores refused, and `hypercore seed` (serving a C-listed JS store) answering corestore 6 and 7 readers that open
// cores after the connection is up.

const assert = require('node:assert')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const b4a = require('b4a')
const h = require('./lib/harness')
const u = require('./lib/repl-util')

const Corestore6 = require('cs6')
const Corestore7 = require('cs7')

const PK = '07'.repeat(32)
const hex = (b) => b4a.toString(b, 'hex')

async function cs6 (dir) {
  const store = new Corestore6(dir)
  await store.ready()
  return store
}

function listJson (dir) {
  return h.cliText(['store', 'list', dir, '--json']).split('\n').filter(Boolean).map(l => JSON.parse(l))
}

async function cToJs (base) {
  const dir = path.join(base, 'c-made')
  h.step('C creates a store, named cores in the root and in namespaces, appends')
  assert.strictEqual(h.cliText(['store', 'create', dir, '--primary-key', PK]), '')
  const keyA = h.cliText(['store', 'get', dir, '--name', 'alpha'])
  const nsApp = h.cliText(['store', 'namespace', 'app'])
  const nsDeep = h.cliText(['store', 'namespace', 'app', 'deep'])
  const keyB = h.cliText(['store', 'get', dir, '--name', 'beta', '--namespace', nsApp])
  const keyC = h.cliText(['store', 'get', dir, '--name', 'ünïcode name/with slash', '--namespace', nsDeep])
  assert.strictEqual(h.cliText(['store', 'get', dir, '--name', 'alpha']), keyA, 'get is idempotent')
  assert.strictEqual(h.cliText(['store', 'key', dir, '--name', 'beta', '--namespace', nsApp]), keyB)
  assert.strictEqual(h.cliText(['append', dir + ':name/alpha', 'a0', 'a1', 'a2']), '3')
  assert.strictEqual(h.cliText(['append', `${dir}:ns/${nsApp}/name/beta`, 'b0']), '1')
  assert.strictEqual(h.cliText(['append', `${dir}:ns/${nsDeep}/name/ünïcode name/with slash`, 'c0', 'c1']), '2')

  h.step('corestore 6 opens it: the same keys for the names, writable, every block, appends')
  let store = await cs6(dir)
  assert.strictEqual(hex(store.primaryKey), PK)
  const a = store.get({ name: 'alpha' })
  await a.ready()
  assert.strictEqual(hex(a.key), keyA)
  assert.ok(a.writable)
  assert.strictEqual(a.length, 3)
  for (let i = 0; i < 3; i++) assert.strictEqual((await a.get(i)).toString(), 'a' + i)
  const b = store.namespace('app').get({ name: 'beta' })
  await b.ready()
  assert.strictEqual(hex(b.key), keyB)
  assert.strictEqual((await b.get(0)).toString(), 'b0')
  const c = store.namespace('app').namespace('deep').get({ name: 'ünïcode name/with slash' })
  await c.ready()
  assert.strictEqual(hex(c.key), keyC)
  assert.strictEqual(c.length, 2)
  await a.append(['js3', 'js4'])
  const g = store.get({ name: 'gamma' })
  await g.ready()
  await g.append(['g0'])
  const keyG = hex(g.key)
  await store.close()

  h.step('C reads the JS appends and the JS-created core')
  assert.strictEqual(h.cli(['get', dir + ':name/alpha', '4']).toString(), 'js4')
  assert.strictEqual(h.cli(['get', dir + ':key/' + keyG, '0']).toString(), 'g0')
  assert.strictEqual(h.cliText(['store', 'key', dir, '--name', 'gamma']), keyG)
  h.cliText(['verify', dir + ':name/alpha'])
  const list = listJson(dir)
  assert.strictEqual(list.length, 4)
  const byKey = Object.fromEntries(list.map(e => [e.key, e]))
  assert.strictEqual(byKey[keyA].name, 'alpha')
  assert.strictEqual(byKey[keyA].length, 5)
  assert.strictEqual(byKey[keyB].namespace, nsApp)
  assert.strictEqual(byKey[keyC].name, 'ünïcode name/with slash')
  assert.strictEqual(byKey[keyG].name, 'gamma')
  assert.strictEqual(byKey[keyG].byteLength, 2)

  h.step('C appends after JS, JS reads it')
  assert.strictEqual(h.cliText(['append', dir + ':name/alpha', 'c5']), '6')
  store = await cs6(dir)
  const a2 = store.get({ name: 'alpha' })
  await a2.ready()
  assert.strictEqual(a2.length, 6)
  assert.strictEqual((await a2.get(5)).toString(), 'c5')
  await store.close()
  return { dir, keyA }
}

async function jsToC (base) {
  const dir = path.join(base, 'js-made')
  h.step('corestore 6 makes a store (random primary key): named cores, namespaces, a key-pair core')
  const store = await cs6(dir)
  const x = store.get({ name: 'x' })
  const y = store.namespace('a').namespace('b').get({ name: 'y' })
  const crypto = require('hypercore-crypto')
  const z = store.get({ keyPair: crypto.keyPair() })
  await Promise.all([x.ready(), y.ready(), z.ready()])
  await x.append(['x0', 'x1'])
  for (let i = 0; i < 50; i++) await y.append(h.bytes(1000 + i, i))
  await z.append(['z0'])
  const keys = { x: hex(x.key), y: hex(y.key), z: hex(z.key) }
  await store.close()

  h.step('C lists it, verifies every core, derives the same keys for the names')
  const list = listJson(dir)
  assert.deepStrictEqual(list.map(e => e.key).sort(), Object.values(keys).sort())
  const byKey = Object.fromEntries(list.map(e => [e.key, e]))
  assert.strictEqual(byKey[keys.x].name, 'x')
  assert.strictEqual(byKey[keys.y].name, 'y')
  assert.strictEqual(byKey[keys.z].name, null)
  assert.strictEqual(byKey[keys.y].length, 50)
  for (const k of Object.values(keys)) h.cliText(['verify', dir + ':key/' + k])
  assert.strictEqual(h.cliText(['store', 'key', dir, '--name', 'x']), keys.x)
  const nsAB = h.cliText(['store', 'namespace', 'a', 'b'])
  assert.strictEqual(byKey[keys.y].namespace, nsAB)
  assert.strictEqual(h.cliText(['store', 'key', dir, '--name', 'y', '--namespace', nsAB]), keys.y)
  assert.strictEqual(h.cliText(['store', 'get', dir, '--name', 'x']), keys.x, 'get finds the JS core')
  assert.ok(h.cli(['get', dir + ':key/' + keys.y, '7']).equals(h.bytes(1007, 7)))

  h.step('C appends to the named JS core, JS reads it')
  assert.strictEqual(h.cliText(['append', dir + ':name/x', 'from-c']), '3')
  assert.strictEqual(h.cliText(['append', `${dir}:ns/${nsAB}/name/y`, 'y-from-c']), '51')
  const s2 = await cs6(dir)
  const x2 = s2.get({ name: 'x' })
  const y2 = s2.namespace('a').namespace('b').get({ name: 'y' })
  await Promise.all([x2.ready(), y2.ready()])
  assert.strictEqual((await x2.get(2)).toString(), 'from-c')
  assert.strictEqual((await y2.get(50)).toString(), 'y-from-c')
  await x2.append('js-again')
  await s2.close()
  assert.strictEqual(h.cli(['get', dir + ':name/x', '3']).toString(), 'js-again')
  return { dir, keys }
}

async function locks (dir, keyA) {
  h.step('lock: corestore 6 holds the store, C writers are refused, nothing is written; C readers are not')
  const store = await cs6(dir)
  const coresBefore = listJson(dir).length
  let r = h.cliFails(['append', dir + ':name/alpha', 'nope'], undefined, 'store locked by JS')
  assert.match(r.stderr, /locked/)
  r = h.cliFails(['store', 'get', dir, '--name', 'brand-new'], undefined, 'store locked by JS')
  assert.match(r.stderr, /locked/)
  assert.strictEqual(h.cli(['get', dir + ':name/alpha', '0']).toString(), 'a0')
  await store.close()
  assert.strictEqual(listJson(dir).length, coresBefore, 'no core created while locked')
  assert.strictEqual(JSON.parse(h.cliText(['info', dir + ':name/alpha', '--json'])).length, 6, 'nothing appended')

  h.step('lock: a C process holds the store, corestore 6 is refused')
  const srv = u.spawnC(['seed', dir, '--listen', u.HOST + ':0'])
  await srv.waitLine(/^port (\d+)$/)
  const js = new Corestore6(dir)
  await assert.rejects(js.ready(), /ELOCKED|locked/i)
  await js.close().catch(() => {})
  srv.kill('SIGTERM')
  const ex = await u.waitExit(srv, 10000, 'seed')
  assert.strictEqual(ex.status, 0, 'seed exits 0 on SIGTERM: ' + ex.stderr)
  const js2 = await cs6(dir) // the lock is gone with the process
  await js2.close()
}

async function badStores (base) {
  h.step('bad stores: short primary-key, a lone core, a corestore 7 store, nothing written')
  const short = path.join(base, 'short')
  fs.mkdirSync(short)
  fs.writeFileSync(path.join(short, 'primary-key'), Buffer.alloc(10, 1))
  let r = h.cliFails(['store', 'get', short, '--name', 'a'])
  assert.match(r.stderr, /primary-key/)
  assert.strictEqual(fs.statSync(path.join(short, 'primary-key')).size, 10)

  const v7 = path.join(base, 'v7')
  const s7 = new Corestore7(v7)
  const c7 = s7.get({ name: 'a' })
  await c7.ready()
  await c7.append('x')
  await s7.close()
  r = h.cliFails(['store', 'list', v7])
  assert.match(r.stderr, /corestore 7/)
  r = h.cliFails(['get', v7 + ':name/a', '0'])
  assert.match(r.stderr, /corestore 7/)

  h.step('a named core copied from another store is not written under this store; missing names are explained')
  const other = path.join(base, 'other')
  h.cliText(['store', 'create', other])
  const kq = h.cliText(['store', 'get', other, '--name', 'q'])
  h.cliText(['append', other + ':name/q', 'q0'])
  const mine = path.join(base, 'mine')
  h.cliText(['store', 'create', mine])
  const dk = JSON.parse(h.cliText(['info', other + ':key/' + kq, '--json'])).discoveryKey
  const rel = path.join('cores', dk.slice(0, 2), dk.slice(2, 4), dk)
  h.copyDir(path.join(other, rel), path.join(mine, rel))
  r = h.cliFails(['append', mine + ':dk/' + dk, 'bad'])
  assert.match(r.stderr, /another store/)
  assert.strictEqual(JSON.parse(h.cliText(['info', mine + ':dk/' + dk, '--json'])).length, 1, 'nothing written')
  assert.notStrictEqual(h.cliText(['store', 'key', mine, '--name', 'q']), kq)
  r = h.cliFails(['get', mine + ':name/nobody', '0'])
  assert.match(r.stderr, /no core named 'nobody'/)

  const lone = path.join(base, 'lone')
  h.cliText(['create', lone])
  r = h.cliFails(['store', 'list', lone])
  assert.match(r.stderr, /not a corestore/)
  assert.ok(!fs.existsSync(path.join(lone, 'primary-key')))
}

async function serveLate (dir, keys) {
  h.step('seed: corestore 6 and 7 readers open cores after the connection is up')
  const srv = u.spawnC(['seed', dir, '--listen', u.HOST + ':0'])
  const port = Number((await srv.waitLine(/^port (\d+)$/))[1])
  for (const [label, mk] of [
    ['corestore 6', () => new Corestore6(require('random-access-memory'))],
    ['corestore 7', () => new Corestore7(path.join(h.tmpdir('cs7-'), 'store'))]
  ]) {
    const store = mk()
    await store.ready()
    const sock = net.connect(port, u.HOST)
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    const stream = store.replicate(true)
    u.pipeBoth(sock, stream)
    await u.sleep(300) // the connection is up before any core is opened
    const missing = store.get({ key: b4a.alloc(32, 9) })
    await missing.ready()
    for (const [k, want] of [[keys.y, 51], [keys.x, 4]]) {
      const core = store.get({ key: b4a.from(k, 'hex') })
      await core.ready()
      await u.withTimeout(u.until(async () => { await core.update({ wait: true }); return core.length === want }, 10000, label), 15000, label)
      const first = await u.withTimeout(core.get(want - 1), 5000, label + ' get')
      assert.ok(first.length > 0)
      if (k === keys.y) assert.ok((await core.get(7)).equals(h.bytes(1007, 7)), label + ': block 7')
    }
    assert.strictEqual(missing.length, 0)
    assert.strictEqual(missing.peers.length, 0, label + ': no peer for a core C does not have')
    stream.destroy()
    sock.destroy()
    await store.close()
  }
  srv.kill('SIGTERM')
  const ex = await u.waitExit(srv, 10000, 'seed')
  assert.strictEqual(ex.status, 0, 'seed exits 0: ' + ex.stderr)
  u.checkSanitizer(ex)
}

h.main(async () => {
  const base = h.tmpdir('hc-store-')
  const { dir, keyA } = await cToJs(base)
  const js = await jsToC(base)
  await locks(dir, keyA)
  await badStores(base)
  await serveLate(js.dir, js.keys)
})
