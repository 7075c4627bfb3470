'use strict'
// Non-compat and multisig cores over TCP, cloned by key alone (the manifest travels on the
// wire: request.manifest / data.manifest), against hypercore 10 and 11:
//  - JS writer (compat:false; 2-of-3 multisig assembled in JS) serves -> `hypercore clone KEY`:
//    same key, manifest, length, tree hash, every block; `verify` passes.
//  - `hypercore serve` of a C non-compat / multisig core -> JS clone by key: blocks, tree hash,
//    JS's manifest equals C's, JS audit clean; and C -> C. Also a prologue core both ways.
//  - a peer whose data carries a manifest that is not the key's: the clone fails with a clear
//    error and stores nothing.

const assert = require('node:assert')
const path = require('node:path')
const h = require('./lib/harness')
const u = require('./lib/repl-util')
const mh = require('./lib/manifest-helpers')
const bp = require('./lib/repl-badpeer')

// The JS (v10 or v11) tree batch for appending `blocks`, signed by `signers` of `man`.
function multisigSignature (core, man, signers, blocks) {
  const batch = core.state && typeof core.state.createTreeBatch === 'function' ? core.state.createTreeBatch() : core.core.tree.batch()
  for (const b of blocks) batch.append(b)
  const v = mh.Verifier.fromManifest(man)
  const parts = signers.map((kp) => {
    const idx = v.signers.findIndex((s) => s.publicKey.equals(kp.publicKey))
    return { signer: idx, signature: v.signers[idx].sign(batch, kp), patch: 0, nodes: null }
  })
  return v.assemble(parts)
}

const BATCHES = [
  [Buffer.from('a'), Buffer.from('bb'), Buffer.alloc(0)],
  [h.bytes(70000, 7)],
  Array.from({ length: 20 }, (_, i) => h.bytes(i * 13, 100 + i))
]

async function cloneFromJs (v, root, name, core, blocks, man) {
  const label = `${v} JS ${name} -> C clone`
  const srv = await u.jsServe(core)
  try {
    const dir = path.join(root, `${v}-${name.replace(/\W+/g, '-')}-c`)
    await u.cliOk(['clone', h.hex(core.key), dir, '--connect', srv.connect], { timeout: 30000 })
    await u.cMatchesJs(dir, core, label)
    h.checkBlocks(dir, blocks, label)
    h.verifyOk(dir, label)
    mh.assertSameManifest(mh.cManifest(dir), man, label)
    assert.strictEqual(mh.cManifest(dir).compat, false, label + ': C sees non-compat')
    h.step(`${label}: key alone -> manifest adopted, ${blocks.length} blocks, tree hash, verify OK`)
  } finally {
    await srv.close()
  }
}

async function jsWriters (v, root) {
  // compat:false single signer
  const kp = mh.keyPair(61)
  const w = await u.jsCore(v, null, { keyPair: kp, compat: false })
  const blocks = await u.jsAppendBatches(w, BATCHES)
  assert.strictEqual(h.hex(w.key), h.hex(mh.manifestKey(mh.manifest({ signers: [kp] }))))
  await cloneFromJs(v, root, 'compat:false', w, blocks, w.manifest)
  await w.close()

  // 2-of-3 multisig, custom namespace, signatures assembled in JS
  const kps = [mh.keyPair(71), mh.keyPair(72), mh.keyPair(73)]
  const man = mh.manifest({ signers: kps, quorum: 2, namespace: Buffer.alloc(32, 0x33) })
  const m = await u.jsCore(v, null, { manifest: man })
  assert.strictEqual(h.hex(m.key), h.hex(mh.manifestKey(man)))
  const mblocks = []
  for (const [i, b] of BATCHES.entries()) {
    await m.append(b, { signature: multisigSignature(m, man, [kps[i % 3], kps[(i + 1) % 3]], b) })
    mblocks.push(...b)
  }
  await cloneFromJs(v, root, 'multisig', m, mblocks, man)
  await m.close()

  // a prologue (3 blocks fixed by their tree hash), then signed appends
  const pro = await prologueOf(PROLOGUE)
  const pkp = mh.keyPair(65)
  const p = await u.jsCore(v, null, { keyPair: pkp, manifest: { signers: [{ publicKey: pkp.publicKey }], prologue: pro } })
  await p.append(PROLOGUE)
  await p.append([Buffer.from('after 1'), Buffer.from('after 2')])
  await cloneFromJs(v, root, 'prologue', p, [...PROLOGUE, Buffer.from('after 1'), Buffer.from('after 2')], p.manifest)
  await p.close()
}

const PROLOGUE = [Buffer.from('pro-a'), Buffer.from('pro-b'), Buffer.from('pro-c')]

async function prologueOf (blocks) {
  const scratch = await u.jsCore('v10')
  await scratch.append(blocks)
  const hash = await scratch.treeHash()
  await scratch.close()
  return { hash, length: blocks.length }
}

async function jsClonesC (v, server, cdir, blocks, label) {
  const reader = await u.jsCore(v, server.key)
  const conn = await u.jsConnect(reader, server.port)
  try {
    await u.withTimeout((async () => {
      await reader.update({ wait: true })
      await reader.download({ start: 0, end: reader.length }).done()
    })(), 30000, label)
    const cinfo = h.info(cdir)
    h.assertState({ length: reader.length, fork: reader.fork, treeHash: h.hex(await reader.treeHash()) },
      { length: cinfo.length, fork: cinfo.fork, treeHash: cinfo.treeHash }, label)
    await u.jsCheckBlocks(reader, blocks, label)
    assert.ok(reader.manifest, label + ': JS got the manifest')
    mh.assertSameManifest(mh.cManifest(cdir), reader.manifest, label)
    await u.jsAudit(v, reader, label)
    h.step(`${label}: key alone -> manifest, ${blocks.length} blocks, tree hash, audit OK`)
  } finally {
    conn.close()
    await reader.close()
  }
}

async function cWriters (root) {
  const kps = [mh.keyPair(81), mh.keyPair(82), mh.keyPair(83)]
  const cores = []
  const nc = path.join(root, 'c-noncompat')
  h.cli(['create', nc, '--seed', h.hex(Buffer.alloc(32, 80)), '--non-compat'])
  cores.push({ name: 'non-compat', dir: nc, blocks: u.cAppendBatches(nc, BATCHES) })
  const ms = path.join(root, 'c-multisig')
  h.cli(['create', ms, '--signers', kps.map(mh.pkHex).join(','), '--quorum', '2'])
  const mblocks = []
  for (const [i, b] of BATCHES.entries()) {
    // the CLI takes blocks as arguments: use text blocks here
    const txt = b.map((x, j) => `b${i}-${j}-${x.length}`)
    h.cli(['append', ms, '--signer-keys', mh.skHex(kps[i % 3]) + ',' + mh.skHex(kps[(i + 2) % 3]), ...txt])
    mblocks.push(...txt.map((s) => Buffer.from(s)))
  }
  cores.push({ name: 'multisig', dir: ms, blocks: mblocks })
  const pd = path.join(root, 'c-prologue')
  const pro = await prologueOf(PROLOGUE)
  h.cli(['create', pd, '--seed', h.hex(Buffer.alloc(32, 84)), '--prologue', h.hex(pro.hash) + ':' + pro.length])
  h.cli(['append', pd, ...PROLOGUE.map(String)])
  h.cli(['append', pd, 'c after'])
  cores.push({ name: 'prologue', dir: pd, blocks: [...PROLOGUE, Buffer.from('c after')] })
  for (const c of cores) {
    h.verifyOk(c.dir, 'C ' + c.name)
    const server = await u.startCServer(c.dir)
    try {
      for (const v of u.VERSIONS) await jsClonesC(v, server, c.dir, c.blocks, `${v} C ${c.name} serve -> JS clone`)
      const dir = path.join(root, c.name + '-c-c')
      await u.cliOk(['clone', server.key, dir, '--connect', server.connect])
      h.assertState(h.info(dir), { length: c.blocks.length, treeHash: h.info(c.dir).treeHash }, `C ${c.name} -> C clone`)
      h.checkBlocks(dir, c.blocks, `C ${c.name} -> C clone`)
      h.verifyOk(dir, `C ${c.name} -> C clone`)
      h.step(`C ${c.name} serve -> C clone OK`)
    } finally {
      await server.stop()
    }
  }
}

// A JS v10 peer that answers honestly except that the manifest in its data is another core's.
async function wrongManifest (root) {
  const kps = [mh.keyPair(91), mh.keyPair(92), mh.keyPair(93)]
  const man = mh.manifest({ signers: kps, quorum: 2 })
  const core = await u.jsCore('v10', null, { manifest: man })
  await core.append([Buffer.from('x'), Buffer.from('y')], { signature: multisigSignature(core, man, [kps[0], kps[1]], [Buffer.from('x'), Buffer.from('y')]) })
  const other = mh.manifest({ signers: [kps[0], kps[1]], quorum: 2 })
  let sent = 0
  const srv = await bp.serve(core, {
    async onrequest (peer, msg) {
      const d = await bp.honestData(peer.core, msg)
      if (!d) return peer.send(bp.T.noData, { request: msg.id })
      if (d.manifest || msg.manifest) { d.manifest = other; sent++ }
      peer.send(bp.T.data, d)
    }
  }, { closeAfterMs: 5000 })
  const dir = path.join(root, 'wrong-manifest')
  const label = 'data with a manifest that is not the key\'s'
  try {
    const r = await u.runC(['clone', h.hex(core.key), dir, '--connect', srv.connect], { timeout: 20000 })
    assert.strictEqual(r.status, 1, `${label}: clone exited ${r.status}; stderr ${r.stderr}`)
    assert.match(r.stderr, /^hypercore: \w+: .*manifest does not hash to the core key/m, label + ': error message')
    assert.ok(sent > 0, label + ': the C clone asked for the manifest')
    const inf = h.run(['info', dir, '--json'])
    if (inf.status === 0) {
      const j = JSON.parse(inf.stdout.toString())
      assert.strictEqual(Number(j.length), 0, label + ': nothing stored')
      assert.strictEqual(h.run(['manifest', dir]).status, 1, label + ': no manifest adopted')
    }
    const msg = r.stderr.split('\n').find((l) => l.startsWith('hypercore:'))
    h.step(`${label}: clone fails (${msg}), nothing stored`)
  } finally {
    await srv.close()
    await core.close()
  }
}

// hypercore 11's manifest versions 2 and 3 (linked core keys, user data): a v11 writer -> C clone
// by key, which serves it on to a v11 reader; and a C core created with such a manifest
// (encoded by v11) -> v11 and C readers.
async function v11ManifestV2V3 (root) {
  const v = 'v11'
  const m11 = require('hc11/lib/messages')
  const cenc = require('compact-encoding')
  const kp = mh.keyPair(101)
  const w = await u.jsCore(v, null, {
    keyPair: kp,
    manifest: { signers: [{ publicKey: kp.publicKey }], linked: [Buffer.alloc(32, 0x5c), Buffer.alloc(32, 0x5d)], userData: Buffer.from('v2 user data') }
  })
  assert.strictEqual(w.manifest.version, 2)
  const blocks = await u.jsAppendBatches(w, BATCHES)
  await cloneFromJs(v, root, 'manifest v2 (linked, userData)', w, blocks, w.manifest)
  const cdir = path.join(root, 'v11-manifest-v2-linked-userData--c')
  const cm = mh.cManifest(cdir)
  assert.strictEqual(cm.version, 2)
  assert.deepStrictEqual(cm.linked, ['5c'.repeat(32), '5d'.repeat(32)])
  assert.strictEqual(Buffer.from(cm.userData, 'hex').toString(), 'v2 user data')
  const server = await u.startCServer(cdir)
  try {
    await jsClonesC(v, server, cdir, blocks, 'v11 JS manifest v2 -> C clone -> serve -> v11 JS clone')
  } finally {
    await server.stop()
  }
  await w.close()

  // a C writer whose manifest (v3, user data only, empty linked list) was encoded by v11
  const kp2 = mh.keyPair(102)
  const man = { version: 3, hash: 'blake2b', allowPatch: false, quorum: 1, signers: [{ signature: 'ed25519', namespace: mh.caps.DEFAULT_NAMESPACE, publicKey: kp2.publicKey }], prologue: null, linked: [], userData: Buffer.from([1, 2, 3]) }
  const enc = cenc.encode(m11.manifest, man)
  const dir = path.join(root, 'c-manifest-v3')
  h.cli(['create', dir, '--manifest', h.hex(enc)])
  h.cli(['append', dir, '--signer-keys', mh.skHex(kp2), 'v3-a', 'v3-b'])
  h.cli(['append', dir, '--signer-keys', mh.skHex(kp2), 'v3-c'])
  const cm3 = mh.cManifest(dir)
  assert.deepStrictEqual([cm3.version, cm3.linked, cm3.userData], [3, [], '010203'])
  assert.strictEqual(h.cliText(['manifest', dir, '--hex']).trim(), h.hex(enc), 'C stores the manifest bytes as v11 encodes them')
  h.verifyOk(dir, 'C manifest v3')
  const s2 = await u.startCServer(dir)
  try {
    const cblocks = ['v3-a', 'v3-b', 'v3-c'].map((x) => Buffer.from(x))
    await jsClonesC(v, s2, dir, cblocks, 'C manifest v3 serve -> v11 JS clone')
    const cc = path.join(root, 'c-manifest-v3-c')
    await u.cliOk(['clone', s2.key, cc, '--connect', s2.connect])
    h.checkBlocks(cc, cblocks, 'C manifest v3 -> C clone')
    h.verifyOk(cc, 'C manifest v3 -> C clone')
    h.step('C manifest v3 serve -> C clone OK')
  } finally {
    await s2.stop()
  }
}

// Multisig with allowPatch (what Autobase's views use): a signer that signed a longer tree
// vouches for a shorter one through patch nodes (lib/multisig.js partialSignature). JS 10
// makes a core whose head signature holds such a proof; the C clone must verify it, store it,
// reopen and verify it again, and serve it on to JS readers, which check it themselves.
async function patchedMultisig (root, version) {
  const multisig = require('hc10/lib/multisig')
  const kps = [mh.keyPair(111), mh.keyPair(112), mh.keyPair(113)]
  const man = mh.Verifier.createManifest({ version, allowPatch: true, quorum: 2, signers: kps.map((k) => ({ publicKey: k.publicKey })) })
  const v = mh.Verifier.fromManifest(man)
  const blocks = Array.from({ length: 13 }, (_, i) => Buffer.from(`patched ${i} ` + 'p'.repeat(i * 3)))
  // the longer tree (13 blocks), signed by signers 1 and 2
  const long = await u.jsCore('v10', null, { manifest: man })
  await long.append(blocks, { signature: multisigSignature(long, man, [kps[1], kps[2]], blocks) })
  const sig0at13 = v.signers[0].sign(long.core.tree.batch(), kps[0])
  for (const L of [9, 12]) {
    // signer 0's proof for length L: its signature of 13 plus the nodes from L to 13
    const patched = await multisig.partialSignature(long.core.tree, 0, L, 13, sig0at13)
    assert.strictEqual(patched.patch, 13 - L)
    const core = await u.jsCore('v10', null, { manifest: man })
    const head = blocks.slice(0, L)
    const batch = core.core.tree.batch()
    for (const b of head) batch.append(b)
    const plain = { signer: 1, signature: v.signers[1].sign(batch, kps[1]), patch: 0, nodes: null }
    await core.append(head, { signature: v.assemble([patched, plain]) }) // JS verifies the patch
    const label = `JS patched multisig v${version} (length ${L}, patch ${13 - L}) -> C clone`
    const srv = await u.jsServe(core)
    const dir = path.join(root, `patched-v${version}-${L}`)
    try {
      await u.cliOk(['clone', h.hex(core.key), dir, '--connect', srv.connect], { timeout: 30000 })
    } finally {
      await srv.close()
    }
    await u.cMatchesJs(dir, core, label)
    h.checkBlocks(dir, head, label)
    h.verifyOk(dir, label) // reopens and checks the stored (patched) signature
    assert.strictEqual(mh.cManifest(dir).allowPatch, true)
    h.step(`${label}: signature with a patch verified, stored, verified again on reopen`)
    const server = await u.startCServer(dir)
    try {
      for (const ver of u.VERSIONS) await jsClonesC(ver, server, dir, head, `${label} -> serve -> ${ver} JS clone`)
    } finally {
      await server.stop()
    }
    // the same signature with a patch node flipped does not verify
    const bad = Buffer.from(v.assemble([patched, plain]))
    bad[bad.length - 5] ^= 1 // inside the last patch node's hash
    const badCore = await u.jsCore('v10', null, { manifest: man })
    const bsrv = await bp.serve(badCore, {
      onopen (peer) { peer.syncOverride = { length: L }; peer.sendSync(peer.syncOverride); peer.sendRange(0, L) },
      async onrequest (peer, msg) {
        const d = await bp.honestData(core, msg)
        if (!d) return peer.send(bp.T.noData, { request: msg.id })
        if (d.upgrade) d.upgrade.signature = bad
        peer.send(bp.T.data, d)
      }
    }, { closeAfterMs: 5000 })
    try {
      const r = await u.runC(['clone', h.hex(core.key), path.join(root, `patched-bad-v${version}-${L}`), '--connect', bsrv.connect], { timeout: 20000 })
      assert.strictEqual(r.status, 1, `${label}: a flipped patch node must fail; stderr ${r.stderr}`)
      assert.match(r.stderr, /does not verify|signature/, `${label}: flipped patch node`)
      h.step(`${label}: a flipped patch node is refused (${r.stderr.split('\n').find((l) => l.startsWith('hypercore:'))})`)
    } finally {
      await bsrv.close()
      await badCore.close()
    }
    await core.close()
  }
  await long.close()
}

h.main(async () => {
  const root = h.tmpdir('hc-manifest-wire-')
  for (const version of [1, 0]) await patchedMultisig(root, version)
  await v11ManifestV2V3(root)
  for (const v of u.VERSIONS) await jsWriters(v, root)
  await cWriters(root)
  await wrongManifest(root)
})
