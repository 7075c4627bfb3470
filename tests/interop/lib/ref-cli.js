#!/usr/bin/env node
'use strict'
// The `hypercore` CLI contract implemented with the JS reference (hypercore@10.38.2).
// Used to check the interop tests themselves:  HYPERCORE_BIN=$PWD/lib/ref-cli.js node test-x.js
// (each command is one session: open, mutate, close — as the C CLI does).

const fs = require('node:fs')
const Hypercore = require('hc10')

const hex = (b) => Buffer.from(b).toString('hex')
const usage = `usage: hypercore <command> DIR ...
  create DIR [--seed HEX64]
  append DIR [BLOCK ...] [--raw]
  get DIR INDEX
  cat DIR [--start N] [--end M]
  info DIR [--json]
  verify DIR
  truncate DIR LENGTH
  clear DIR START END
  append-file DIR FILE
  batch DIR FILE...
  user-data DIR KEY [VALUE | --delete]
`

function opt (args, name) {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  args.splice(i, 2)
  return v
}

async function open (dir, opts = {}) {
  if (!fs.existsSync(dir + '/oplog') && !opts.create) throw new Error('no core in ' + dir)
  const core = new Hypercore(dir, opts)
  await core.ready()
  return core
}

async function main (argv) {
  const [cmd, dir, ...args] = argv
  if (!cmd || cmd === '--help' || !dir) { process.stdout.write(usage); return cmd ? 0 : 2 }
  const out = (s) => process.stdout.write(s)
  let core = null
  try {
    switch (cmd) {
      case 'create': {
        const seed = opt(args, '--seed')
        const keyPair = seed ? require('hypercore-crypto').keyPair(Buffer.from(seed, 'hex')) : undefined
        core = await open(dir, { create: true, keyPair })
        out(hex(core.key) + '\n')
        break
      }
      case 'append': {
        core = await open(dir)
        let blocks
        if (args[0] === '--raw') blocks = [fs.readFileSync(0)]
        else if (args.length) blocks = args.map(a => Buffer.from(a))
        else blocks = fs.readFileSync(0).toString().split('\n').filter((l, i, a) => i < a.length - 1 || l !== '').map(l => Buffer.from(l))
        await core.append(blocks)
        out(core.length + '\n')
        break
      }
      case 'append-file':
        core = await open(dir)
        await core.append(fs.readFileSync(args[0]))
        out(core.length + '\n')
        break
      case 'batch':
        core = await open(dir)
        await core.append(args.map(f => fs.readFileSync(f)))
        out(core.length + '\n')
        break
      case 'get': {
        core = await open(dir)
        const i = Number(args[0])
        if (!(i < core.length) || !(await core.has(i))) throw new Error('block ' + i + ' not available')
        out(await core.get(i, { wait: false }))
        break
      }
      case 'cat': {
        core = await open(dir)
        const start = Number(opt(args, '--start') || 0)
        const end = Number(opt(args, '--end') || core.length)
        for (let i = start; i < end; i++) {
          if (!(await core.has(i))) throw new Error('block ' + i + ' not available')
          out(await core.get(i, { wait: false }))
        }
        break
      }
      case 'info': {
        core = await open(dir)
        const at = opt(args, '--length')
        if (at !== undefined) {
          const j = { length: Number(at), treeHash: hex(await core.treeHash(Number(at))) }
          out(JSON.stringify(j) + '\n')
          break
        }
        const j = {
          key: hex(core.key),
          discoveryKey: hex(core.discoveryKey),
          length: core.length,
          byteLength: core.byteLength,
          fork: core.fork,
          contiguousLength: core.contiguousLength,
          treeHash: hex(await core.treeHash())
        }
        out(args.includes('--json') ? JSON.stringify(j) + '\n' : Object.entries(j).map(([k, v]) => k + ': ' + v).join('\n') + '\n')
        break
      }
      case 'verify': {
        // reference audit on a copy (audit repairs in place)
        const os = require('node:os')
        const path = require('node:path')
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-verify-'))
        for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(tmp, f))
        core = await open(tmp)
        const had = []
        for (let i = 0; i < core.length; i++) had.push(await core.has(i))
        const c = await core.core.audit()
        let first = -1
        for (let i = 0; i < core.length && first < 0; i++) if (had[i] && !(await core.has(i))) first = i
        await core.close()
        if (first >= 0) process.stderr.write(`block ${first}: bad checksum\n`)
        core = null
        fs.rmSync(tmp, { recursive: true, force: true })
        if (c.blocks || c.tree) { process.stderr.write(`audit corrections: ${JSON.stringify(c)}\n`); return 1 }
        break
      }
      case 'truncate':
        core = await open(dir)
        await core.truncate(Number(args[0]))
        out(core.length + ' ' + core.fork + '\n')
        break
      case 'clear':
        core = await open(dir)
        await core.clear(Number(args[0]), Number(args[1]))
        break
      case 'user-data': {
        core = await open(dir)
        if (args.includes('--delete')) { await core.setUserData(args[0], null); break }
        if (args.length > 1) { await core.setUserData(args[0], Buffer.from(args[1])); break }
        const v = await core.getUserData(args[0])
        if (v === null) throw new Error('no user data ' + args[0])
        out(v)
        break
      }
      default:
        process.stderr.write(usage)
        return 2
    }
  } finally {
    if (core) await core.close()
  }
  return 0
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
  process.stderr.write('hypercore: ' + err.message + '\n')
  process.exitCode = 1
})
