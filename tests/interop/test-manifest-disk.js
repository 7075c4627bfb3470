'use strict'
// Manifests and non-compat keys on disk, C <-> hypercore@10.38.2 (file storage):
//  C-made: `create --non-compat`, a 2-of-3 multisig core (`--signers --quorum`, appends with
//   `append --signer-keys`), a prologue core -> JS opens the dir: same key and manifest, JS
//   reads every block, same tree hash, JS's Verifier accepts the signature; JS appends (with its
//   key pair, or a multisig signature assembled in JS) and C verifies and reads that.
//  JS-made: compat:false, a custom namespace, a prologue, a 2-of-3 multisig (v1 and v0
//   manifests, signatures assembled with Verifier/multisig) -> C: same key, `verify` passes,
//   every block reads back; C appends (own key pair, or --signer-keys) and JS reads it.
//  Bad input: a multisig append short of the quorum / with a non-signer key fails and stores
//   nothing.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const mh = require('./lib/manifest-helpers')

const Hypercore = h.Hypercore10()

async function openJs (dir, opts) {
  const core = new Hypercore(dir, opts)
  await core.ready()
  return core
}

async function jsBlocks (core) {
  const out = []
  for (let i = 0; i < core.length; i++) out.push(await core.get(i, { wait: false }))
  return out
}

// JS opens a C dir: same key, state, manifest, blocks; its Verifier accepts the head.
async function jsChecksC (dir, blocks, label, opts = {}) {
  const inf = h.info(dir)
  const core = await openJs(dir, opts)
  try {
    assert.strictEqual(h.hex(core.key), inf.key, label + ': JS key')
    assert.strictEqual(core.core.compat, false, label + ': JS sees a non-compat core')
    assert.strictEqual(core.length, blocks.length, label + ': JS length')
    assert.strictEqual(h.hex(await core.treeHash()), inf.treeHash, label + ': tree hash')
    assert.deepStrictEqual(await jsBlocks(core), blocks, label + ': JS blocks')
    assert.ok(mh.jsHeadVerifies(core), label + ': JS verifies the C signature')
    mh.assertSameManifest(mh.cManifest(dir), core.manifest, label)
    assert.ok(mh.Verifier.isValidManifest(core.key, mh.Verifier.createManifest(core.manifest)), label + ': manifest hashes to the key')
  } finally {
    await core.close()
  }
}

async function cMadeNonCompat (root) {
  const label = 'C --non-compat'
  const dir = path.join(root, 'c-noncompat')
  const kp = mh.keyPair(1)
  const key = h.cliText(['create', dir, '--seed', h.hex(Buffer.alloc(32, 1)), '--non-compat'])
  assert.strictEqual(key, h.hex(mh.manifestKey(mh.manifest({ signers: [kp] }))), label + ': key = Hypercore.key(publicKey)')
  assert.strictEqual(key, 'd8c3a0597903b28d751c6e0b7107775e388ec5a3cf669bdd1e7ec41b8b8f6e72')
  h.cli(['append', dir, 'a', 'b', 'c'])
  h.cli(['append', dir, 'hello world'])
  const blocks = ['a', 'b', 'c', 'hello world'].map((s) => Buffer.from(s))
  await jsChecksC(dir, blocks, label)
  // JS appends with the stored key pair, C reads and verifies
  const core = await openJs(dir)
  assert.ok(core.writable, label + ': JS writable')
  await core.append([Buffer.from('from js'), Buffer.from('2')])
  await core.close()
  blocks.push(Buffer.from('from js'), Buffer.from('2'))
  h.checkBlocks(dir, blocks, label + ' after JS append')
  h.verifyOk(dir, label + ' after JS append')
  h.step(`${label}: key, manifest, blocks, tree hash, signature in JS; JS append verified by C`)
}

async function cMadeMultisig (root) {
  const label = 'C 2-of-3 multisig'
  const dir = path.join(root, 'c-multisig')
  const kps = [mh.keyPair(21), mh.keyPair(22), mh.keyPair(23)]
  const ns = Buffer.alloc(32, 0xab)
  const key = h.cliText(['create', dir, '--signers', kps.map(mh.pkHex).join(','), '--quorum', '2', '--namespace', h.hex(ns)])
  const jm = mh.manifest({ signers: kps, quorum: 2, namespace: ns })
  assert.strictEqual(key, h.hex(mh.manifestKey(jm)), label + ': key')
  // one signer is short of the quorum: nothing stored
  h.cliFails(['append', dir, '--signer-keys', mh.skHex(kps[0]), 'x'], undefined, 'short of quorum')
  h.cliFails(['append', dir, '--signer-keys', mh.skHex(kps[0]) + ',' + mh.skHex(mh.keyPair(99)), 'x'], undefined, 'a non-signer key')
  h.cliFails(['append', dir, 'x'], undefined, 'no key pair')
  assert.strictEqual(h.info(dir).length, 0, label + ': nothing stored after bad appends')
  h.cli(['append', dir, '--signer-keys', mh.skHex(kps[2]) + ',' + mh.skHex(kps[0]), 'one', 'two'])
  h.cli(['append', dir, '--signer-keys', kps.map(mh.skHex).join(','), 'three'])
  h.verifyOk(dir, label)
  const blocks = ['one', 'two', 'three'].map((s) => Buffer.from(s))
  await jsChecksC(dir, blocks, label)
  // JS appends with a signature assembled in JS (signers 1 and 2)
  const core = await openJs(dir)
  await mh.multisigAppend(core, jm, [kps[1], kps[2]], [Buffer.from('js multisig')])
  await core.close()
  blocks.push(Buffer.from('js multisig'))
  h.checkBlocks(dir, blocks, label + ' after JS append')
  h.verifyOk(dir, label + ' after JS append')
  // C truncates with a multisig signature (fork 1); JS sees it and verifies; JS truncates
  // again with a signature assembled in JS (fork 2) and C verifies
  h.cliFails(['truncate', dir, '2', '--signer-keys', mh.skHex(kps[1])], undefined, 'truncate short of quorum')
  assert.strictEqual(h.info(dir).length, 4, label + ': nothing truncated by a short signature')
  assert.strictEqual(h.cliText(['truncate', dir, '2', '--signer-keys', mh.skHex(kps[0]) + ',' + mh.skHex(kps[1])]), '2 1')
  const t = await openJs(dir)
  assert.strictEqual(t.length, 2, label + ': JS length after C truncate')
  assert.strictEqual(t.fork, 1, label + ': JS fork after C truncate')
  assert.ok(mh.jsHeadVerifies(t), label + ': JS verifies the C truncation signature')
  const tb = await t.core.tree.truncate(1, 2)
  const tv = mh.Verifier.fromManifest(jm)
  const signature = tv.assemble([kps[2], kps[0]].map((kp) => {
    const idx = tv.signers.findIndex((s) => s.publicKey.equals(kp.publicKey))
    return { signer: idx, signature: tv.signers[idx].sign(tb, kp), patch: 0, nodes: null }
  }))
  await t.truncate(1, { fork: 2, signature })
  await t.close()
  h.assertState(h.info(dir), { length: 1, fork: 2 }, label + ' after JS truncate')
  h.checkBlocks(dir, blocks.slice(0, 1), label + ' after JS truncate')
  h.verifyOk(dir, label + ' after JS truncate')
  h.step(`${label}: quorum enforced, JS reads/verifies, JS-assembled append verified by C, multisig truncations both ways`)
}

async function cMadePrologue (root) {
  const label = 'C prologue'
  // the prologue hash: tree hash of two blocks (from a scratch JS core)
  const pro = [Buffer.from('p1'), Buffer.from('p2')]
  const scratch = new Hypercore(require('random-access-memory'))
  await scratch.append(pro)
  const hash = await scratch.treeHash()
  await scratch.close()
  const dir = path.join(root, 'c-prologue')
  const kp = mh.keyPair(31)
  const key = h.cliText(['create', dir, '--seed', h.hex(Buffer.alloc(32, 31)), '--prologue', h.hex(hash) + ':2'])
  const jm = mh.manifest({ signers: [kp], prologue: { hash, length: 2 } })
  assert.strictEqual(key, h.hex(mh.manifestKey(jm)), label + ': key')
  h.cliFails(['append', dir, 'p1'], undefined, 'shorter than the prologue')
  h.cli(['append', dir, 'p1', 'p2'])
  h.cli(['append', dir, 'after'])
  h.verifyOk(dir, label)
  await jsChecksC(dir, [...pro, Buffer.from('after')], label)
  h.step(`${label}: key, prologue enforced, JS reads and verifies`)
}

// JS-made cores read by C.
async function jsMade (root, name, opts, appendFn, cAppendArgs, jsAppend = (core, b) => core.append(b)) {
  const label = 'JS ' + name
  const dir = path.join(root, 'js-' + name.replace(/\W+/g, '-'))
  const core = await openJs(dir, opts)
  const blocks = await appendFn(core)
  const key = h.hex(core.key)
  const man = core.manifest
  assert.strictEqual(core.core.compat, false, label + ': JS non-compat')
  const state = { key, length: core.length, fork: core.fork, treeHash: h.hex(await core.treeHash()) }
  await core.close()
  h.assertState(h.info(dir), state, label + ' (info --json)')
  mh.assertSameManifest(mh.cManifest(dir), man, label)
  h.checkBlocks(dir, blocks, label)
  h.verifyOk(dir, label)
  // C appends, JS reads it back
  h.cli(['append', dir, ...cAppendArgs, 'from c'])
  h.verifyOk(dir, label + ' after C append')
  const again = await openJs(dir)
  try {
    assert.strictEqual(again.length, blocks.length + 1, label + ': JS length after C append')
    assert.deepStrictEqual(await again.get(blocks.length, { wait: false }), Buffer.from('from c'), label + ': JS reads the C block')
    assert.ok(mh.jsHeadVerifies(again), label + ': JS verifies the C signature')
    await jsAppend(again, [Buffer.from('js again')])
  } finally {
    await again.close()
  }
  h.checkBlocks(dir, [...blocks, Buffer.from('from c'), Buffer.from('js again')], label + ' final')
  h.verifyOk(dir, label + ' final')
  h.step(`${label}: same key and manifest, verify OK, C append read by JS`)
}

h.main(async () => {
  const root = h.tmpdir('hc-manifest-disk-')
  await cMadeNonCompat(root)
  await cMadeMultisig(root)
  await cMadePrologue(root)

  const abc = async (core) => {
    const b = [Buffer.from('a'), Buffer.from('bb'), Buffer.from('ccc')]
    await core.append(b)
    await core.append(Buffer.from('d'))
    return [...b, Buffer.from('d')]
  }
  const kp = mh.keyPair(41)
  await jsMade(root, 'compat:false', { keyPair: kp, compat: false }, abc, [])
  await jsMade(root, 'custom namespace', {
    keyPair: kp,
    manifest: { signers: [{ publicKey: kp.publicKey, namespace: Buffer.alloc(32, 0x5a) }] }
  }, abc, [])

  const pro = [Buffer.from('pro-1'), Buffer.from('pro-2'), Buffer.from('pro-3')]
  const scratch = new Hypercore(require('random-access-memory'))
  await scratch.append(pro)
  const proHash = await scratch.treeHash()
  await scratch.close()
  await jsMade(root, 'prologue', { keyPair: kp, manifest: { signers: [{ publicKey: kp.publicKey }], prologue: { hash: proHash, length: 3 } } },
    async (core) => { await core.append(pro); await core.append(Buffer.from('x')); return [...pro, Buffer.from('x')] }, [])

  for (const version of [1, 0]) {
    const kps = [mh.keyPair(51), mh.keyPair(52), mh.keyPair(53)]
    const man = mh.manifest({ version, signers: kps, quorum: 2 })
    await jsMade(root, `multisig 2-of-3 v${version}`, { manifest: man },
      async (core) => {
        const b1 = [Buffer.from('m1'), Buffer.from('m2')]
        await mh.multisigAppend(core, man, [kps[0], kps[2]], b1)
        await mh.multisigAppend(core, man, [kps[1], kps[0]], [Buffer.from('m3')])
        return [...b1, Buffer.from('m3')]
      }, ['--signer-keys', mh.skHex(kps[1]) + ',' + mh.skHex(kps[2])],
      (core, b) => mh.multisigAppend(core, man, [kps[2], kps[1]], b))
  }
})
