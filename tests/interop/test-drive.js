'use strict'
// Hyperdrive both ways (hyperdrive 11.13.4 on corestore 6.18.4): a JS drive with nested
// folders, files of 0 B .. a few MiB (HC_DRIVE_BIG sets the big file's size, e.g. 52428800),
// symlinks, executables, metadata and deletions is listed, stat'ed and read by C byte for byte
// (whole files and byte ranges); a drive written by C (`drive create` + `drive mirror` of a
// folder, then a second mirror after changes) is read by JS byte for byte; a sparse C reader
// (--connect) fetches exactly the blobs blocks of the file it reads and a few db blocks.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const Corestore = require('cs6')
const Hyperdrive = require('hyperdrive')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const bu = require('./lib/bee-util')

const BIG = Number(process.env.HC_DRIVE_BIG || 3 * 1024 * 1024 + 12345)

function files (seed) {
  const r = bu.rng(seed)
  const out = new Map()
  out.set('/empty.txt', Buffer.alloc(0))
  out.set('/hello.txt', Buffer.from('hello world\n'))
  out.set('/big.bin', h.bytes(BIG, seed))
  out.set('/exact-64k.bin', h.bytes(65536, seed + 1))
  for (let i = 0; i < 40; i++) {
    const depth = r.int(4)
    let p = ''
    for (let d = 0; d < depth; d++) p += '/d' + r.int(3)
    const size = r.next() < 0.2 ? r.int(300000) : r.int(2000)
    out.set(`${p}/f${i}-${r.int(1000)}.dat`, r.bytes(size))
  }
  out.set('/sp ace/ünï-cödé.txt', Buffer.from('utf-8 names'))
  return out
}

async function cList (store, key, folder, recursive) {
  const args = ['drive', 'ls', store, key]
  if (folder) args.push(folder)
  if (recursive) args.push('--recursive')
  const out = h.cliText(args).split('\n').filter(Boolean)
  return out
}

h.main(async () => {
  const root = h.tmpdir('hc-drive-')

  // ---- JS writes, C reads
  const sdir = path.join(root, 'js-store')
  let store = new Corestore(sdir)
  let drive = new Hyperdrive(store)
  await drive.ready()
  const tree = files(1)
  for (const [p, data] of tree) await drive.put(p, data, { executable: p.endsWith('0.dat') })
  await drive.put('/meta.txt', Buffer.from('m'), { metadata: { a: 1, b: ['x', 'y'] } })
  tree.set('/meta.txt', Buffer.from('m'))
  await drive.symlink('/link-to-hello', '/hello.txt')
  await drive.symlink('/d1/rel-link', '../hello.txt')
  const gone = [...tree.keys()].filter((p) => p.startsWith('/d2/')).slice(0, 3)
  for (const p of gone) { await drive.del(p); tree.delete(p) }
  await drive.put('/hello.txt', Buffer.from('hello again\n')) // overwrite
  tree.set('/hello.txt', Buffer.from('hello again\n'))
  const key = drive.key.toString('hex')
  const jsAll = []
  for await (const e of drive.list('/')) jsAll.push(e)
  const jsEntries = new Map(jsAll.map((e) => [e.key, e]))
  const shallow = {}
  for (const folder of ['/', '/d0', '/d1', '/d1/d2', '/nope']) {
    const names = []
    for await (const e of drive.list(folder, { recursive: false })) names.push(e.key)
    const rd = []
    for await (const n of drive.readdir(folder)) rd.push(n)
    shallow[folder] = { names, rd }
  }
  const blobsLen = drive.blobs.core.length
  await drive.close()
  await store.close()
  h.step(`JS drive: ${tree.size} files, 2 symlinks, ${gone.length} deleted, blobs length ${blobsLen}`)

  // recursive list = JS's list
  const cAll = await cList(sdir, key, null, true)
  assert.deepStrictEqual(cAll, jsAll.map((e) => e.key), 'ls --recursive')
  assert.deepStrictEqual(await cList(sdir, key, '/d1', true), jsAll.map((e) => e.key).filter((k) => k.startsWith('/d1/')), 'ls /d1 --recursive')
  // shallow lists: the same children as JS's readdir, in order
  for (const folder of Object.keys(shallow)) {
    const c = await cList(sdir, key, folder, false)
    const f = folder === '/' ? '' : folder
    assert.deepStrictEqual(c.map((l) => l.slice(f.length + 1).replace(/\/$/, '')), shallow[folder].rd, `ls ${folder}`)
    const json = h.cliText(['drive', 'ls', sdir, key, folder, '--json']).split('\n').filter(Boolean).map((l) => JSON.parse(l))
    assert.deepStrictEqual(json.map((e) => e.path), shallow[folder].names, `ls ${folder} --json (list recursive:false)`)
  }
  h.step(`ls: recursive ${cAll.length} entries and 5 folders non-recursive equal JS's`)

  // stat every entry, read every file
  for (const [p, e] of jsEntries) {
    const st = JSON.parse(h.cliText(['drive', 'stat', sdir, key, p]))
    assert.strictEqual(st.path, p)
    assert.strictEqual(st.executable, e.value.executable, `${p} executable`)
    assert.strictEqual(st.linkname, e.value.linkname, `${p} linkname`)
    assert.deepStrictEqual(st.blob, e.value.blob, `${p} blob`)
    assert.deepStrictEqual(st.metadata, e.value.metadata, `${p} metadata`)
    assert.strictEqual(st.seq, e.seq, `${p} seq`)
    if (e.value.linkname) continue
    h.assertBuf(h.cli(['drive', 'cat', sdir, key, p]), tree.get(p), `cat ${p}`)
  }
  h.step(`stat (executable, linkname, blob, metadata, seq) and cat of all ${jsEntries.size} entries byte for byte`)

  // byte ranges
  const big = tree.get('/big.bin')
  for (const [s, l] of [[0, 10], [65535, 2], [65536, 65536], [100000, 300000], [BIG - 5, 100], [BIG, 10], [7, BIG]]) {
    h.assertBuf(h.cli(['drive', 'cat', sdir, key, '/big.bin', '--start', s, '--length', l]), big.subarray(s, s + l), `range ${s}+${l}`)
  }
  h.cliFails(['drive', 'cat', sdir, key, '/no/such/file'])
  h.step('cat --start --length: 7 byte ranges of the big file')

  // ---- sparse over TCP: JS serves the store
  store = new Corestore(sdir)
  drive = new Hyperdrive(store, Buffer.from(key, 'hex'))
  await drive.ready()
  await drive.getBlobs()
  const srv = await u.jsServe(store)
  try {
    const target = [...jsEntries.values()].find((e) => e.value.blob && e.value.blob.blockLength >= 2)
    const res = await u.runC(['drive', 'cat', key, target.key, '--connect', srv.connect, '--stats', '--timeout', 20000])
    assert.strictEqual(res.status, 0, res.stderr)
    h.assertBuf(res.stdout, tree.get(target.key), `sparse cat ${target.key}`)
    const m = /fetched (\d+) blocks of the db core \(length (\d+)\), (\d+) of the blobs core/.exec(res.stderr)
    assert.ok(m, res.stderr)
    const [dbFetched, dbLen, blobsFetched] = [Number(m[1]), Number(m[2]), Number(m[3])]
    assert.strictEqual(blobsFetched, target.value.blob.blockLength, 'exactly the file\'s blobs blocks')
    assert.ok(dbFetched >= 2 && dbFetched <= 25, `db blocks fetched: ${dbFetched} of ${dbLen}`)
    h.step(`sparse cat ${target.key}: ${blobsFetched} blobs blocks (the file's ${target.value.blob.blockLength}) of ${blobsLen}, ${dbFetched} of ${dbLen} db blocks`)
    const r2 = await u.runC(['drive', 'cat', key, '/big.bin', '--start', 200000, '--length', 1000, '--connect', srv.connect, '--stats'])
    assert.strictEqual(r2.status, 0, r2.stderr)
    h.assertBuf(r2.stdout, big.subarray(200000, 201000), 'sparse byte range')
    const bf = Number(/(\d+) of the blobs core/.exec(r2.stderr)[1])
    assert.ok(bf <= 2, `a 1000-byte range fetched ${bf} blobs blocks`)
    const r3 = await u.runC(['drive', 'ls', key, '/', '--connect', srv.connect])
    assert.strictEqual(r3.status, 0, r3.stderr)
    h.step(`sparse byte range: ${bf} blobs block(s); sparse ls`)
  } finally {
    await srv.close()
    await drive.close()
    await store.close()
  }

  // ---- C writes (create + mirror), JS reads
  const local = path.join(root, 'local')
  const ctree = files(2)
  for (const [p, data] of ctree) {
    fs.mkdirSync(path.join(local, path.dirname(p)), { recursive: true })
    fs.writeFileSync(path.join(local, p), data)
  }
  fs.chmodSync(path.join(local, 'hello.txt'), 0o755)
  fs.symlinkSync('hello.txt', path.join(local, 'link'))
  const cstore = path.join(root, 'c-store')
  const ckey = h.cliText(['drive', 'create', cstore]).trim()
  assert.match(ckey, /^[0-9a-f]{64}$/)
  assert.strictEqual(h.cliText(['drive', 'create', cstore]).trim(), ckey, 'create again: the same drive')
  const nsKey = h.cliText(['drive', 'create', cstore, '--namespace', 'app']).trim()
  assert.notStrictEqual(nsKey, ckey)
  const t0 = Date.now()
  const out1 = h.cliText(['drive', 'mirror', cstore, ckey, local]).trim()
  assert.strictEqual(out1, `added ${ctree.size + 1} unchanged 0 removed 0`)
  const mt = Date.now() - t0

  async function jsCheck (expectTree, label) {
    const st = new Corestore(cstore)
    // the drive C made is the one JS makes on this store (named cores of its primary key)
    const d = new Hyperdrive(st)
    await d.ready()
    assert.strictEqual(d.key.toString('hex'), ckey, `${label}: new Hyperdrive(store) is the C drive`)
    const listed = []
    for await (const e of d.list('/')) listed.push(e.key)
    const want = [...expectTree.keys(), '/link'].sort()
    assert.deepStrictEqual(listed.slice().sort(), want, `${label}: JS list`)
    for (const [p, data] of expectTree) h.assertBuf(await d.get(p), data, `${label}: JS get ${p}`)
    const link = await d.entry('/link')
    assert.strictEqual(link.value.linkname, 'hello.txt')
    assert.strictEqual((await d.entry('/hello.txt')).value.executable, true)
    assert.strictEqual((await d.entry('/empty.txt')).value.executable, false)
    await d.close()
    await st.close()
  }
  await jsCheck(ctree, 'mirror 1')
  h.step(`C mirrored ${ctree.size} files + a symlink into a new drive (${mt} ms); JS lists and reads them byte for byte`)

  // change the folder: one file changed, one removed, one added; mirror again
  const changed = [...ctree.keys()].find((p) => p.includes('/f'))
  const removed = [...ctree.keys()].filter((p) => p !== changed && p.includes('/f'))[0]
  fs.writeFileSync(path.join(local, changed), Buffer.from('changed'))
  ctree.set(changed, Buffer.from('changed'))
  fs.rmSync(path.join(local, removed))
  ctree.delete(removed)
  fs.writeFileSync(path.join(local, 'added.txt'), Buffer.from('new'))
  ctree.set('/added.txt', Buffer.from('new'))
  const out2 = h.cliText(['drive', 'mirror', cstore, ckey, local]).trim()
  assert.strictEqual(out2, `added 2 unchanged ${ctree.size - 1} removed 1`)
  await jsCheck(ctree, 'mirror 2')
  h.step(`second mirror: ${out2}; JS reads the result`)

  // C reads its own drive the same way; JS writes into the C drive; C reads it
  {
    const st = new Corestore(cstore)
    const d = new Hyperdrive(st, Buffer.from(ckey, 'hex'))
    await d.ready()
    assert.ok(d.writable, 'the C drive is writable by JS (key pair in the store)')
    await d.put('/from-js.txt', Buffer.from('written by JS'))
    await d.close()
    await st.close()
    h.assertBuf(h.cli(['drive', 'cat', cstore, ckey, '/from-js.txt']), Buffer.from('written by JS'), 'C reads JS write')
    h.cli(['drive', 'del', cstore, ckey, '/from-js.txt'])
    h.cliFails(['drive', 'cat', cstore, ckey, '/from-js.txt'])
  }
  h.step('JS wrote into the C drive, C read it and deleted it')

  // the namespaced drive is JS's new Hyperdrive(store.namespace('app'))
  {
    const st = new Corestore(cstore)
    const d = new Hyperdrive(st.namespace('app'))
    await d.ready()
    assert.strictEqual(d.key.toString('hex'), nsKey, 'drive create --namespace app')
    await d.close()
    await st.close()
  }
  // a store held by JS (locked) cannot be written by C, but can be read
  {
    const st = new Corestore(cstore)
    const d = new Hyperdrive(st, Buffer.from(ckey, 'hex'))
    await d.ready()
    const r = h.cliFails(['drive', 'put', cstore, ckey, '/x', '-'])
    assert.match(r.stderr, /locked/i)
    h.assertBuf(h.cli(['drive', 'cat', cstore, ckey, '/added.txt']), Buffer.from('new'), 'read while JS holds the store')
    await d.close()
    await st.close()
  }
  h.step('drive create --namespace = JS store.namespace; a store JS holds is locked for C writes, readable')

  // C to C: `hypercore seed` serves the C drive's store, a C reader reads it sparsely
  {
    const seed = u.spawnC(['seed', cstore, '--listen', '127.0.0.1:0'])
    try {
      const port = (await seed.waitLine(/^port (\d+)/, 15000))[1]
      const connect = '127.0.0.1:' + port
      const ls = await u.runC(['drive', 'ls', ckey, '/', '--recursive', '--connect', connect])
      assert.strictEqual(ls.status, 0, ls.stderr)
      assert.deepStrictEqual(ls.stdout.toString().trim().split('\n'), h.cliText(['drive', 'ls', cstore, ckey, '--recursive']).split('\n'))
      const p = [...ctree.keys()].find((k) => ctree.get(k).length > 70000)
      const cat = await u.runC(['drive', 'cat', ckey, p, '--connect', connect, '--stats'])
      assert.strictEqual(cat.status, 0, cat.stderr)
      h.assertBuf(cat.stdout, ctree.get(p), `C seed -> C cat ${p}`)
      const bl = Number(/(\d+) of the blobs core/.exec(cat.stderr)[1])
      assert.strictEqual(bl, Math.ceil(ctree.get(p).length / 65536), 'only the file\'s blobs blocks')
      h.step(`hypercore seed serves the C drive: C ls --recursive over TCP = local, cat ${p} fetched its ${bl} blobs blocks`)
    } finally {
      seed.kill()
      await seed.exited
    }
  }
})
