'use strict'
// Hyperdrive 13 (hyperdrive 13.3.4 on corestore 7.12.5 / hypercore 11.37.1) read by C over the
// wire. Hyperdrive 13 drives on corestore 7 are non-compat: the db core's key is its manifest
// hash and the blobs core has no entry in the db header (no contentFeed): its key is derived from
// the db manifest (generateContentManifest). A JS writer puts a tree (0 B, small, ~1 MiB files,
// nested folders, a symlink, a deleted file, an executable, metadata) and serves its store over
// TCP with store.replicate; C lists (recursive and not), stats, cats every file byte for byte,
// reads byte ranges, and a sparse cat fetches exactly the file's blobs blocks. A hyperbee 2.27.3
// on a corestore 7 core is read with `bee ls --connect` equal to JS's createReadStream.

const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const Corestore = require('cs7')
const Hyperdrive = require('hd13')
const Hyperbee = require('hyperbee')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const bu = require('./lib/bee-util')

const MIB = 1024 * 1024 + 4321

function files (seed) {
  const r = bu.rng(seed)
  const out = new Map()
  out.set('/empty.txt', Buffer.alloc(0))
  out.set('/hello.txt', Buffer.from('hello world\n'))
  out.set('/big.bin', h.bytes(MIB, seed))
  out.set('/exact-64k.bin', h.bytes(65536, seed + 1))
  for (let i = 0; i < 16; i++) {
    const depth = r.int(4)
    let p = ''
    for (let d = 0; d < depth; d++) p += '/d' + r.int(3)
    const size = r.next() < 0.2 ? r.int(200000) : r.int(2000)
    out.set(`${p}/f${i}-${r.int(1000)}.dat`, r.bytes(size))
  }
  out.set('/d1/bin/run.sh', Buffer.from('#!/bin/sh\necho hi\n'))
  out.set('/sp ace/ünï-cödé.txt', Buffer.from('utf-8 names'))
  return out
}

function lines (buf) {
  return buf.toString().split('\n').filter(Boolean)
}

async function writeStream (drive, name, chunks, opts) {
  const ws = drive.createWriteStream(name, opts)
  for (const c of chunks) ws.write(c)
  ws.end()
  await new Promise((resolve, reject) => { ws.once('close', resolve); ws.once('error', reject) })
}

async function cOk (args) {
  const r = await u.runC(args, { timeout: 30000 })
  assert.strictEqual(r.status, 0, `\`${r.cmd}\`: ${r.stderr}`)
  return r
}

h.main(async () => {
  const root = h.tmpdir('hc-drive13-')
  const sdir = path.join(root, 'cs7-store')
  const store = new Corestore(sdir)
  const drive = new Hyperdrive(store)
  await drive.ready()
  const tree = files(13)
  for (const [p, data] of tree) await drive.put(p, data, { executable: p.endsWith('.sh') })
  await drive.put('/meta.txt', Buffer.from('m'), { metadata: { a: 1, b: ['x', 'y'], s: 'ü' } })
  tree.set('/meta.txt', Buffer.from('m'))
  await drive.symlink('/link-to-hello', '/hello.txt')
  const gone = [...tree.keys()].find((p) => p.endsWith('.dat'))
  await drive.del(gone)
  tree.delete(gone)
  await drive.put('/hello.txt', Buffer.from('hello again\n')) // overwrite
  tree.set('/hello.txt', Buffer.from('hello again\n'))
  // hyperdrive 13's dedup write stream: a block-map blob (blob.blockMap), data blocks shared
  // within the file and with its previous version
  const K = 65536
  const A = h.bytes(K, 31)
  const B = h.bytes(K, 32)
  const C = h.bytes(K, 33)
  const v1 = [A, B, A, A, C.subarray(0, 777)]
  await writeStream(drive, '/dedup.bin', v1, { dedup: true })
  const v2 = [B, A, C, B, Buffer.from('tail')]
  await writeStream(drive, '/dedup.bin', v2, { dedup: true, executable: true })
  tree.set('/dedup.bin', Buffer.concat(v2))
  await drive.getBlobs()

  // what makes a hyperdrive 13 drive different: non-compat cores, no contentFeed in the header
  assert.strictEqual(drive.db.core.core.compat, false, 'corestore 7 makes non-compat cores')
  const header = await drive.db.getHeader()
  assert.ok(!header.metadata || !header.metadata.contentFeed, 'no contentFeed in the db header')
  const blobsKey = drive.blobs.core.key.toString('hex')
  assert.strictEqual(Hyperdrive.getContentKey(drive.db.core.manifest, drive.db.core.key).toString('hex'), blobsKey)

  const key = drive.key.toString('hex')
  const jsAll = []
  for await (const e of drive.list('/')) jsAll.push(e)
  const jsEntries = new Map(jsAll.map((e) => [e.key, e]))
  const shallow = {}
  for (const folder of ['/', '/d1', '/nope']) {
    const rd = []
    for await (const n of drive.readdir(folder)) rd.push(n)
    shallow[folder] = rd
  }
  const dbLen = drive.db.core.length
  const blobsLen = drive.blobs.core.length
  h.step(`JS hyperdrive 13: ${tree.size} files, a symlink, 1 deleted; db length ${dbLen}, blobs length ${blobsLen}, blobs key from the manifest`)

  const srv = await u.jsServe(store)
  try {
    const conn = ['--connect', srv.connect, '--timeout', 20000]

    // ls: recursive and folder lists equal JS's
    const cAll = lines((await cOk(['drive', 'ls', key, '/', '--recursive', ...conn])).stdout)
    assert.deepStrictEqual(cAll, jsAll.map((e) => e.key), 'ls / --recursive over TCP')
    for (const folder of Object.keys(shallow)) {
      const c = lines((await cOk(['drive', 'ls', key, folder, ...conn])).stdout)
      const f = folder === '/' ? '' : folder
      assert.deepStrictEqual(c.map((l) => l.slice(f.length + 1).replace(/\/$/, '')), shallow[folder], `ls ${folder}`)
    }
    h.step(`ls --recursive (${cAll.length} entries) and 3 folder lists equal JS's, over TCP`)

    // stat and cat every entry
    let catBytes = 0
    for (const [p, e] of jsEntries) {
      const st = JSON.parse((await cOk(['drive', 'stat', key, p, ...conn])).stdout.toString())
      assert.strictEqual(st.path, p)
      assert.strictEqual(st.executable, e.value.executable, `${p} executable`)
      assert.strictEqual(st.linkname, e.value.linkname, `${p} linkname`)
      assert.deepStrictEqual(st.blob, e.value.blob, `${p} blob`)
      assert.deepStrictEqual(st.metadata, e.value.metadata, `${p} metadata`)
      assert.strictEqual(st.seq, e.seq, `${p} seq`)
      if (e.value.linkname) continue
      const r = await cOk(['drive', 'cat', key, p, ...conn])
      h.assertBuf(r.stdout, tree.get(p), `cat ${p}`)
      catBytes += r.stdout.length
    }
    assert.strictEqual(jsEntries.get('/d1/bin/run.sh').value.executable, true)
    assert.strictEqual(jsEntries.get('/link-to-hello').value.linkname, '/hello.txt')
    const dd = jsEntries.get('/dedup.bin').value.blob
    assert.strictEqual(dd.blockMap, true, 'dedup wrote a block-map blob')
    assert.strictEqual(dd.blockLength, 1, 'one map block')
    h.assertBuf(await drive.get('/dedup.bin'), tree.get('/dedup.bin'), 'JS reads its dedup file')
    const dedup = tree.get('/dedup.bin')
    for (const [s, l] of [[0, 5], [K - 3, 10], [2 * K + 100, K], [4 * K, 100], [4 * K + 2, 1], [5 * K, 9]]) {
      const r = await cOk(['drive', 'cat', key, '/dedup.bin', '--start', s, '--length', l, ...conn])
      h.assertBuf(r.stdout, dedup.subarray(s, s + l), `dedup range ${s}+${l}`)
    }
    const nf = await u.runC(['drive', 'cat', key, gone, ...conn])
    assert.strictEqual(nf.status, 1, 'the deleted file is gone')
    h.step(`stat (executable, linkname, blob, metadata, seq) of ${jsEntries.size} entries and cat of every file (${catBytes} bytes) byte for byte, a dedup (block-map) file and 6 ranges of it; deleted file: exit 1`)

    // byte ranges of the ~1 MiB file
    const big = tree.get('/big.bin')
    for (const [s, l] of [[0, 10], [65535, 2], [65536, 65536], [100000, 300000], [MIB - 5, 100], [7, MIB]]) {
      const r = await cOk(['drive', 'cat', key, '/big.bin', '--start', s, '--length', l, ...conn])
      h.assertBuf(r.stdout, big.subarray(s, s + l), `range ${s}+${l}`)
    }
    h.step('cat --start --length: 6 byte ranges of the big file')

    // sparse: a fresh reader fetches exactly the file's blobs blocks
    const target = jsEntries.get('/big.bin')
    const res = await cOk(['drive', 'cat', key, '/big.bin', '--stats', ...conn])
    h.assertBuf(res.stdout, big, 'sparse cat /big.bin')
    const m = /fetched (\d+) blocks of the db core \(length (\d+)\), (\d+) of the blobs core/.exec(res.stderr)
    assert.ok(m, res.stderr)
    const [dbFetched, dbL, blobsFetched] = [Number(m[1]), Number(m[2]), Number(m[3])]
    assert.strictEqual(dbL, dbLen)
    assert.strictEqual(blobsFetched, target.value.blob.blockLength, 'exactly the file\'s blobs blocks')
    assert.ok(target.value.blob.blockLength >= 16 && target.value.blob.blockLength < blobsLen)
    assert.ok(dbFetched >= 2 && dbFetched < dbLen, `db blocks fetched: ${dbFetched} of ${dbLen}`)
    const r2 = await cOk(['drive', 'cat', key, '/big.bin', '--start', 200000, '--length', 1000, '--stats', ...conn])
    h.assertBuf(r2.stdout, big.subarray(200000, 201000), 'sparse byte range')
    const bf = Number(/(\d+) of the blobs core/.exec(r2.stderr)[1])
    assert.ok(bf >= 1 && bf <= 2, `a 1000-byte range fetched ${bf} blobs blocks`)
    h.step(`sparse cat /big.bin: ${blobsFetched} blobs blocks (the file's) of ${blobsLen}, ${dbFetched} of ${dbLen} db blocks; a 1000-byte range: ${bf} blobs block(s)`)
  } finally {
    await srv.close()
  }

  // a hyperbee 2.27.3 on a corestore 7 core
  const core = store.get({ name: 'bee' })
  const bee = new Hyperbee(core)
  await bee.ready()
  assert.strictEqual(core.core.compat, false)
  const ops = bu.genOps(77, 400, { batchEvery: 10 })
  await bu.jsApply(bee, ops)
  const bsrv = await u.jsServe(store)
  try {
    const bkey = core.key.toString('hex')
    const res = await cOk(['bee', 'ls', bkey, '--hex', '--connect', bsrv.connect, '--timeout', 20000])
    const got = lines(res.stdout).map((l) => l.split(' ').length === 1 ? l + ' -' : l)
    const want = await bu.jsRange(bee, {})
    assert.ok(want.length > 50)
    assert.deepStrictEqual(got, want, 'bee ls over TCP = JS createReadStream')
    const rev = await cOk(['bee', 'ls', bkey, '--hex', '--reverse', '--limit', '7', '--connect', bsrv.connect, '--timeout', 20000])
    assert.deepStrictEqual(lines(rev.stdout).map((l) => l.split(' ').length === 1 ? l + ' -' : l), await bu.jsRange(bee, { reverse: true, limit: 7 }), 'bee ls --reverse --limit 7')
    const ver = await cOk(['bee', 'version', bkey, '--connect', bsrv.connect, '--timeout', 20000])
    assert.strictEqual(Number(ver.stdout.toString().trim()), bee.version, 'bee version')
    h.step(`hyperbee 2.27.3 on a corestore 7 core (${got.length} keys, version ${bee.version}): C bee ls / --reverse --limit / version over TCP equal JS`)
  } finally {
    await bsrv.close()
  }
  await bee.close()
  await drive.close() // closes the store too
  await store.close()

  // ---- C writes a drive (corestore 6 store, compat cores, contentFeed in the header), `hypercore
  // seed` serves it, a JS hyperdrive 13 reader on a corestore 7 store reads it over TCP
  const local = path.join(root, 'local')
  const ctree = files(14)
  for (const [p, data] of ctree) {
    fs.mkdirSync(path.join(local, path.dirname(p)), { recursive: true })
    fs.writeFileSync(path.join(local, p), data)
  }
  fs.chmodSync(path.join(local, 'd1/bin/run.sh'), 0o755)
  fs.symlinkSync('hello.txt', path.join(local, 'link'))
  const cstore = path.join(root, 'c-store')
  const ckey = h.cliText(['drive', 'create', cstore]).trim()
  assert.strictEqual(h.cliText(['drive', 'mirror', cstore, ckey, local]).trim(), `added ${ctree.size + 1} unchanged 0 removed 0`)
  h.cli(['drive', 'del', cstore, ckey, '/empty.txt'])
  ctree.delete('/empty.txt')
  const seed = u.spawnC(['seed', cstore, '--listen', '127.0.0.1:0'])
  const rstore = new Corestore(path.join(root, 'cs7-reader'))
  let conn = null
  try {
    const port = Number((await seed.waitLine(/^port (\d+)/, 15000))[1])
    const d = new Hyperdrive(rstore, Buffer.from(ckey, 'hex'))
    await d.ready()
    conn = await u.jsConnect(rstore, port)
    await u.withTimeout(d.core.update({ wait: true }), 15000, 'hd13 reader update')
    assert.ok(d.core.length > 0, 'the reader sees the C drive')
    const listed = []
    for await (const e of d.list('/')) listed.push(e.key)
    assert.deepStrictEqual(listed.slice().sort(), [...ctree.keys(), '/link'].sort(), 'JS hd13 list of the C drive')
    let n = 0
    for (const [p, data] of ctree) {
      h.assertBuf(await u.withTimeout(d.get(p, { wait: true }), 15000, `get ${p}`), data, `JS hd13 get ${p}`)
      n += data.length
    }
    assert.strictEqual((await d.entry('/d1/bin/run.sh')).value.executable, true)
    assert.strictEqual((await d.entry('/hello.txt')).value.executable, false)
    assert.strictEqual((await d.entry('/link')).value.linkname, 'hello.txt')
    assert.strictEqual(await d.entry('/empty.txt'), null, 'deleted by C')
    const big = ctree.get('/big.bin')
    const part = []
    for await (const c of d.createReadStream('/big.bin', { start: 70000, length: 200000 })) part.push(c)
    h.assertBuf(Buffer.concat(part), big.subarray(70000, 270000), 'JS hd13 range read')
    await d.close()
    h.step(`C-written drive (${ctree.size} files, a symlink, 1 deleted) served by \`hypercore seed\`: a JS hyperdrive 13 reader on corestore 7 lists it and reads ${n} bytes byte for byte`)
  } finally {
    if (conn) conn.close()
    await rstore.close()
    seed.kill()
    await seed.exited
  }
})
