'use strict'
// Block encryption (encryptionKey) between the C CLI and hypercore 10.38.2 / 11.37.1, on disk and
// over the wire; ids (z-base-32) against hypercore-id-encoding; clear() freeing disk space.
const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const r = require('./lib/repl-util')
const ids = require('hypercore-id-encoding')

const EK = Buffer.alloc(32, 2)
const EKH = EK.toString('hex')
const WRONG = Buffer.alloc(32, 3).toString('hex')

h.main(async () => {
  const H10 = h.Hypercore10()

  h.step('C writes an encrypted core; JS 10.38.2 reads it with the key and appends')
  const dir = path.join(h.tmpdir(), 'enc-c')
  h.cli(['create', dir])
  const blocks = ['secret one', '', 'x'.repeat(5000), 'last']
  h.cli(['append', dir, '--encryption-key', EKH, '--', ...blocks])
  for (let i = 0; i < blocks.length; i++) {
    h.assertBuf(h.cli(['get', dir, i, '--encryption-key', EKH]), Buffer.from(blocks[i]), 'C get ' + i)
  }
  // the stored form is not the plaintext
  assert.notDeepStrictEqual(h.cli(['get', dir, 0]), Buffer.from(blocks[0]), 'raw block is encrypted')
  h.cliFails(['get', dir, 0, '--encryption-key', WRONG], {}, 'wrong key')
  assert.match(h.run(['get', dir, 0, '--encryption-key', WRONG]).stderr, /wrong encryption key/)
  const cInfo = JSON.parse(h.cliText(['info', dir, '--json', '--encryption-key', EKH]))
  {
    const core = new H10(dir, { encryptionKey: EK })
    await core.ready()
    assert.strictEqual(core.length, blocks.length)
    assert.strictEqual(core.byteLength, cInfo.byteLength, 'byteLength without padding')
    assert.strictEqual(core.padding, 8)
    for (let i = 0; i < blocks.length; i++) h.assertBuf(await core.get(i), Buffer.from(blocks[i]), 'JS get ' + i)
    assert.strictEqual(h.hex(await core.treeHash()), cInfo.treeHash)
    await core.append([Buffer.from('from js'), Buffer.from('and more')])
    await core.close()
  }
  h.assertBuf(h.cli(['get', dir, 4, '--encryption-key', EKH]), Buffer.from('from js'), 'C reads JS append')
  h.assertBuf(h.cli(['get', dir, 5, '--encryption-key', EKH]), Buffer.from('and more'), 'C reads JS append')
  h.verifyOk(dir, 'encrypted core verifies (hashes over the stored form)')

  h.step('JS writes an encrypted core (also after a truncate: new fork in the padding); C reads it')
  const jdir = path.join(h.tmpdir(), 'enc-js')
  {
    const core = new H10(jdir, { encryptionKey: EK })
    await core.ready()
    await core.append(['a', 'bb', 'ccc', 'dddd'].map(s => Buffer.from(s)))
    await core.truncate(2)
    await core.append([Buffer.from('after truncate')])
    await core.close()
  }
  for (const [i, v] of [[0, 'a'], [1, 'bb'], [2, 'after truncate']]) {
    h.assertBuf(h.cli(['get', jdir, i, '--encryption-key', EKH]), Buffer.from(v), 'C get ' + i)
  }
  h.assertBuf(h.cli(['cat', jdir, '--encryption-key', EKH]), Buffer.from('abbafter truncate'), 'C cat')
  assert.strictEqual(h.cliText(['seek', jdir, '3', '--encryption-key', EKH]), '2 0')
  h.cliFails(['get', jdir, 2, '--encryption-key', WRONG], {}, 'wrong key')

  h.step('v10: encrypted blocks replicate C -> JS and JS -> C, verify and decrypt on the other side')
  {
    const server = await r.startCServer(dir)
    try {
      const reader = await r.jsCore('v10', server.key, { encryptionKey: EK })
      const conn = await r.jsConnect(reader, server.port)
      await r.withTimeout(reader.update({ wait: true }), 10000, 'update')
      assert.strictEqual(reader.length, 6)
      h.assertBuf(await r.withTimeout(reader.get(2), 10000, 'get'), Buffer.from(blocks[2]), 'JS reads C-served block')
      h.assertBuf(await reader.get(5), Buffer.from('and more'), 'JS reads C-served block')
      conn.close()
      await reader.close()
    } finally {
      await server.stop()
    }
    const writer = await r.jsCore('v10', null, { encryptionKey: EK })
    await writer.append(['one', 'two', 'three'].map(s => Buffer.from(s)))
    const js = await r.jsServe(writer)
    try {
      const clone = path.join(h.tmpdir(), 'enc-clone-v10')
      await r.cliOk(['clone', h.hex(writer.key), clone, '--connect', js.connect])
      h.assertBuf(h.cli(['get', clone, 1, '--encryption-key', EKH]), Buffer.from('two'), 'C reads JS-served block')
      h.verifyOk(clone, 'clone verifies')
      h.cliFails(['get', clone, 1, '--encryption-key', WRONG], {}, 'wrong key on clone')
    } finally {
      await js.close()
      await writer.close()
    }
  }

  // 11.x keeps the scheme (its DEFAULT_ENCRYPTION namespace is 10.x's BLOCK_ENCRYPTION), but
  // a v11 reader of a *compat* encrypted core cloned by key fails in 11.37.1 itself
  // (DefaultEncryption._reload reads keys.blockKey, which deriveKeys does not return; JS -> JS
  // fails the same way). So: v11 writers (compat and not) -> C decrypts; a C non-compat
  // encrypted core -> a v11 reader decrypts; the compat one replicates in stored form.
  h.step('v11 encrypted writers -> C clone decrypts; C non-compat encrypted -> v11 reader decrypts')
  for (const compat of [false, true]) {
    const w = await r.jsCore('v11', null, { encryptionKey: EK, compat })
    const vals = ['v11 one', '', 'v11 three '.repeat(300)]
    await w.append(vals.map((x) => Buffer.from(x)))
    const srv = await r.jsServe(w)
    const cl = path.join(h.tmpdir(), 'enc-v11-' + compat)
    try {
      await r.cliOk(['clone', h.hex(w.key), cl, '--connect', srv.connect])
    } finally {
      await srv.close()
      await w.close()
    }
    vals.forEach((x, i) => h.assertBuf(h.cli(['get', cl, i, '--encryption-key', EKH]), Buffer.from(x), `C reads v11 (compat ${compat}) block ${i}`))
    h.cliFails(['get', cl, 0, '--encryption-key', WRONG], {}, 'wrong key on the v11 clone')
  }
  {
    const nd = path.join(h.tmpdir(), 'enc-c-noncompat')
    h.cli(['create', nd, '--non-compat'])
    h.cli(['append', nd, '--encryption-key', EKH, '--', 'nc one', 'nc two'])
    const server = await r.startCServer(nd)
    try {
      const reader = await r.jsCore('v11', server.key, { encryptionKey: EK })
      const conn = await r.jsConnect(reader, server.port)
      await r.withTimeout(reader.update({ wait: true }), 10000, 'update')
      h.assertBuf(await r.withTimeout(reader.get(0), 10000, 'get'), Buffer.from('nc one'), 'v11 decrypts C block 0')
      h.assertBuf(await r.withTimeout(reader.get(1), 10000, 'get'), Buffer.from('nc two'), 'v11 decrypts C block 1')
      conn.close()
      await reader.close()
    } finally {
      await server.stop()
    }
  }
  h.step('v11: the stored (encrypted) form of a compat core replicates from C and verifies')
  {
    const server = await r.startCServer(dir)
    try {
      const reader = await r.jsCore('v11', server.key)
      const conn = await r.jsConnect(reader, server.port)
      await r.withTimeout(reader.update({ wait: true }), 10000, 'update')
      assert.strictEqual(reader.length, 6)
      for (let i = 0; i < 6; i++) {
        h.assertBuf(await r.withTimeout(reader.get(i), 10000, 'get'), h.cli(['get', dir, i]), 'v11 raw block ' + i)
      }
      conn.close()
      await reader.close()
    } finally {
      await server.stop()
    }
  }

  h.step('ids: C prints hypercore-id-encoding ids and accepts them as keys')
  for (let i = 0; i < 5; i++) {
    const d = path.join(h.tmpdir(), 'id-' + i)
    const key = h.cliText(['create', d])
    const idLine = h.cliText(['info', d]).split('\n').find(l => l.startsWith('id:'))
    assert.ok(idLine, 'info shows an id line')
    const id = idLine.split(/\s+/)[1]
    assert.strictEqual(id, ids.encode(Buffer.from(key, 'hex')), 'id equals hypercore-id-encoding')
    const d2 = path.join(h.tmpdir(), 'idk-' + i)
    h.cli(['create', d2, '--key', id])
    assert.strictEqual(h.info(d2).key, key, 'create --key accepts the z-base-32 id')
  }
  const bad = h.run(['create', path.join(h.tmpdir(), 'bad'), '--key', 'not-an-id'])
  assert.strictEqual(bad.status, 2, 'a malformed id is a usage error')

  h.step('clear frees disk space (hole punching) and info shows it')
  const cdir = path.join(h.tmpdir(), 'clear')
  h.cli(['create', cdir])
  const big = path.join(h.tmpdir(), 'big.bin')
  require('node:fs').writeFileSync(big, h.bytes(1 << 20, 7))
  for (let i = 0; i < 4; i++) h.cli(['append-file', cdir, big])
  const allocated = () => {
    const line = h.cliText(['info', cdir]).split('\n').find(l => /^\s+data\s/.test(l))
    return Number(line.match(/\((\d+)\)/)[1])
  }
  const before = allocated()
  assert.ok(before >= 4 * (1 << 20), 'data allocated before clear: ' + before)
  h.cli(['clear', cdir, '1', '3'])
  const after = allocated()
  assert.ok(before - after >= 2 * (1 << 20) - 8192, `clear freed ${before - after} bytes`)
  h.cliFails(['get', cdir, 1], {}, 'cleared block')
  h.verifyOk(cdir, 'core with holes verifies')
})
