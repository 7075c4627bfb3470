'use strict'
// Storage written by JS hypercore 11.37.1 / corestore 7.12.5 (a CORESTORE file and a RocksDB
// db/ folder) is recognised by every command of the CLI: exit 1 saying that this is hypercore
// 11 storage, not supported on disk, and that wire replication with v11 works; nothing in the
// directory changes, and v11 still opens it afterwards. Also: JS hypercore 11 opened on a v10
// directory moves the v10 files into db/ (and opens an empty core); the CLI says so and the
// core comes back when the files are moved back.
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./lib/harness')

const MSG = [/this is hypercore 11 storage/, /not supported on disk/, /wire replication with hypercore 11 works/]
const KEY = 'ab'.repeat(32)

// Every file under dir with its size (what "nothing changed" compares).
function tree (dir, base = dir, out = {}) {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name)
    const st = fs.statSync(p)
    if (st.isDirectory()) tree(p, base, out)
    else out[path.relative(base, p)] = st.size
  }
  return out
}

// The arguments that make each command of `hypercore --help` work on DIR. A command missing
// here fails the test: add it (every command must recognise hypercore 11 storage).
function invocations (dir, file) {
  return {
    create: [['create', dir], ['create', dir, '--overwrite']],
    append: [['append', dir, 'x']],
    manifest: [['manifest', dir]],
    'append-file': [['append-file', dir, file]],
    batch: [['batch', dir, file, file]],
    get: [['get', dir, '0'], ['get', dir, '0', '--connect', '127.0.0.1:9']],
    cat: [['cat', dir]],
    info: [['info', dir], ['info', dir, '--json']],
    verify: [['verify', dir]],
    truncate: [['truncate', dir, '0']],
    clear: [['clear', dir, '0', '1']],
    seek: [['seek', dir, '0']],
    'user-data': [['user-data', dir, 'k'], ['user-data', dir, 'k', 'v']],
    proof: [['proof', dir, '0']],
    purge: [['purge', dir]],
    serve: [['serve', dir, '--listen', '127.0.0.1:0']],
    clone: [['clone', KEY, dir, '--connect', '127.0.0.1:9']],
    checkout: [['checkout', dir, '1']],
    store: [['store', 'list', dir], ['store', 'get', dir, '--name', 'a'], ['store', 'create', dir], ['info', dir + ':name/a']],
    seed: [['seed', dir, '--listen', '127.0.0.1:0']],
    bee: [['bee', 'get', dir, 'k'], ['bee', 'put', dir, 'k', 'v'], ['bee', 'ls', dir]],
    drive: [['drive', 'ls', dir, KEY], ['drive', 'create', dir]]
  }
}

function helpCommands () {
  const help = h.cliText(['--help'])
  const lines = help.split('\n')
  const start = lines.findIndex(l => l === 'commands:')
  const cmds = []
  for (const l of lines.slice(start + 1)) {
    const m = /^ {2}([a-z][a-z0-9-]*)\s/.exec(l)
    if (!m) break
    cmds.push(m[1])
  }
  assert.ok(cmds.length >= 10, 'could not read the commands of --help')
  return cmds
}

function expectV11 (args, label) {
  const r = h.run(args)
  assert.strictEqual(r.status, 1, `${label}: \`${r.cmd}\` exited ${r.status}; stderr: ${r.stderr.trim()}`)
  for (const re of MSG) assert.match(r.stderr, re, `${label}: \`${r.cmd}\` stderr lacks ${re}: ${r.stderr.trim()}`)
  return r
}

h.main(async () => {
  const H11 = require('hc11')
  const CS7 = require('cs7')
  const H10 = h.Hypercore10()
  const root = h.tmpdir()
  const file = path.join(root, 'block.bin')
  fs.writeFileSync(file, 'a block')

  h.step('JS hypercore 11 writes a core directory, corestore 7 a store')
  const coreDir = path.join(root, 'v11-core')
  {
    const core = new H11(coreDir)
    await core.append(['one', 'two', 'three'])
    await core.close()
  }
  const storeDir = path.join(root, 'v11-store')
  {
    const store = new CS7(storeDir)
    const a = store.get({ name: 'a' })
    await a.append(['a0', 'a1'])
    await store.get({ name: 'b' }).ready()
    await store.close()
  }
  for (const d of [coreDir, storeDir]) {
    assert.ok(fs.existsSync(path.join(d, 'CORESTORE')), d + ' has CORESTORE')
    assert.ok(fs.existsSync(path.join(d, 'db', 'CURRENT')), d + ' has a RocksDB db/')
  }

  const cmds = helpCommands()
  for (const [label, dir] of [['v11 core', coreDir], ['corestore 7', storeDir]]) {
    h.step(`every command (${cmds.length}) on the ${label} says it is hypercore 11 storage`)
    const table = invocations(dir, file)
    const before = tree(dir)
    let runs = 0
    for (const cmd of cmds) {
      assert.ok(table[cmd], `command '${cmd}' of --help has no case in test-v11-storage.js: add one`)
      for (const args of table[cmd]) {
        expectV11(args, `${label} ${cmd}`)
        runs++
      }
    }
    assert.deepStrictEqual(tree(dir), before, `${label}: the CLI changed files in ${dir}`)
    assert.ok(!fs.existsSync(path.join(dir, 'oplog')), `${label}: an oplog was written`)
    console.log(`#   ${runs} invocations, all refused, ${Object.keys(before).length} files untouched`)
  }

  h.step('JS hypercore 11 still reads its core and store after the CLI looked at them')
  {
    const core = new H11(coreDir)
    await core.ready()
    assert.strictEqual(core.length, 3)
    assert.strictEqual((await core.get(2)).toString(), 'three')
    await core.close()
    const store = new CS7(storeDir)
    const a = store.get({ name: 'a' })
    await a.ready()
    assert.strictEqual(a.length, 2)
    await store.close()
  }

  h.step('JS hypercore 11 on a v10 directory moves its files into db/ and opens an empty core')
  const v10 = path.join(root, 'v10')
  h.cli(['create', v10])
  h.cli(['append', v10, 'p', 'q'])
  {
    const core = new H11(v10)
    await core.ready()
    assert.strictEqual(core.length, 0, 'v11 opened an empty core')
    await core.close()
  }
  for (const f of ['oplog', 'tree', 'bitfield', 'data']) {
    assert.ok(!fs.existsSync(path.join(v10, f)), f + ' left the top of the directory')
    assert.ok(fs.existsSync(path.join(v10, 'db', f)), f + ' is in db/')
  }
  const r = expectV11(['info', v10], 'converted v10')
  assert.match(r.stderr, /db\/oplog is a hypercore 10 core that JS hypercore 11 moved aside/)

  h.step('moving the files back gives the v10 core back, to C and to JS 10.38.2')
  for (const f of ['oplog', 'tree', 'bitfield', 'data']) fs.renameSync(path.join(v10, 'db', f), path.join(v10, f))
  h.assertBuf(h.cli(['cat', v10]), Buffer.from('pq'), 'C reads the restored core')
  h.verifyOk(v10, 'restored core')
  {
    const core = new H10(v10)
    await core.ready()
    assert.strictEqual(core.length, 2)
    assert.strictEqual((await core.get(1)).toString(), 'q')
    await core.close()
  }
})
