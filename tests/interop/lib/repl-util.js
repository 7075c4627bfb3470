'use strict'
// Helpers for the replication interop tests (test-replicate-*.js): C CLI processes run
// asynchronously (so in-process JS peers keep serving while they run), the C server
// (`hypercore serve`) with its key/port lines, JS hypercore 10/11 peers over real TCP
// sockets on 127.0.0.1, and comparisons. Every child process is killed at exit.

const assert = require('node:assert')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const h = require('./harness')

const VERSIONS = ['v10', 'v11']
const HOST = '127.0.0.1'

// ---------- child processes ----------

const children = new Set()
function killAll () {
  for (const p of children) {
    try { p.kill('SIGKILL') } catch {}
  }
  children.clear()
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(1) })
}

const SAN_RE = /ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/

function fmtCmd (args) {
  return 'hypercore ' + args.map(a => /^[\w./:=-]+$/.test(String(a)) ? a : JSON.stringify(String(a))).join(' ')
}

// Spawns the CLI. Returns a handle:
//   proc, cmd, lines (stdout lines so far), waitLine(re, ms), write(str), end(),
//   exited: Promise<{ status, signal, stdout, stderr, cmd }> (status: number or 'signal X').
function spawnC (args, { env, stdin = false } = {}) {
  const bin = process.env.HYPERCORE_BIN
  if (!bin) throw new Error('HYPERCORE_BIN is not set')
  const proc = spawn(bin, args.map(String), {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(env || {}) }
  })
  children.add(proc)
  const cmd = fmtCmd(args)
  const out = []
  const err = []
  const lines = []
  let partial = ''
  const waiters = []
  const checkWaiters = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]
      const line = lines.slice(w.from).find(l => w.re.test(l))
      if (line !== undefined) {
        waiters.splice(i, 1)
        clearTimeout(w.timer)
        w.resolve(line.match(w.re))
      }
    }
  }
  proc.stdout.on('data', (d) => {
    out.push(d)
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop()
    lines.push(...parts)
    checkWaiters()
  })
  proc.stderr.on('data', (d) => err.push(d))
  if (proc.stdin) proc.stdin.on('error', () => {})
  let result = null
  const exited = new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      children.delete(proc)
      result = {
        status: code === null ? 'signal ' + signal : code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString(),
        cmd
      }
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer)
        w.reject(new assert.AssertionError({ message: `\`${cmd}\` exited (${result.status}) before printing a line matching ${w.re}; stderr: ${result.stderr.trim().slice(0, 2000)}` }))
      }
      resolve(result)
    })
  })
  const handle = {
    proc,
    cmd,
    lines,
    exited,
    stderr: () => Buffer.concat(err).toString(),
    // Resolves with the match of the first stdout line (from line index `from`) matching re.
    waitLine (re, ms = 10000, from = 0) {
      return new Promise((resolve, reject) => {
        if (result) {
          const line = lines.slice(from).find(l => re.test(l))
          if (line !== undefined) return resolve(line.match(re))
          return reject(new assert.AssertionError({ message: `\`${cmd}\` exited (${result.status}) without a line matching ${re}; stderr: ${result.stderr.trim().slice(0, 2000)}` }))
        }
        const w = { re, from, resolve, reject, timer: null }
        w.timer = setTimeout(() => {
          const i = waiters.indexOf(w)
          if (i >= 0) waiters.splice(i, 1)
          reject(new assert.AssertionError({ message: `\`${cmd}\`: no stdout line matching ${re} within ${ms} ms; stdout so far: ${lines.slice(-5).join(' | ')}; stderr: ${Buffer.concat(err).toString().trim().slice(0, 2000)}` }))
        }, ms)
        waiters.push(w)
        checkWaiters()
      })
    },
    write (s) { proc.stdin.write(s) },
    end () { proc.stdin.end() },
    kill (sig = 'SIGTERM') { try { proc.kill(sig) } catch {} }
  }
  return handle
}

function checkSanitizer (r) {
  if (SAN_RE.test(r.stderr)) {
    throw new assert.AssertionError({ message: `sanitizer report from ${r.cmd}:\n${r.stderr.slice(0, 4000)}` })
  }
  return r
}

// Waits for a spawned CLI to exit (killing it after ms); checks for sanitizer reports.
async function waitExit (handle, ms = 30000, label = '') {
  let timer
  const t = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), ms) })
  const r = await Promise.race([handle.exited, t])
  clearTimeout(timer)
  if (r === 'timeout') {
    handle.kill('SIGKILL')
    const rr = await handle.exited
    throw new assert.AssertionError({ message: `${label ? label + ': ' : ''}\`${handle.cmd}\` did not exit within ${ms} ms; stderr: ${rr.stderr.trim().slice(0, 2000)}` })
  }
  return checkSanitizer(r)
}

// Runs the CLI asynchronously; returns { status, stdout, stderr, cmd }.
async function runC (args, { timeout = 30000, env, input } = {}) {
  const hd = spawnC(args, { env, stdin: input !== undefined })
  if (input !== undefined) { hd.write(input); hd.end() }
  return waitExit(hd, timeout)
}

// Runs the CLI asynchronously and asserts exit 0; returns stdout.
async function cliOk (args, opts) {
  const r = await runC(args, opts)
  if (r.status !== 0) {
    throw new assert.AssertionError({ message: `\`${r.cmd}\` exited with ${r.status}; stderr: ${r.stderr.trim() || '(empty)'}` })
  }
  return r.stdout
}

// Runs the CLI and asserts a clean failure: exit 1, a message on stderr matching `re` (if given).
async function cliErr (args, re, opts, label = '') {
  const r = await runC(args, opts)
  if (r.status !== 1) {
    throw new assert.AssertionError({ message: `${label}: \`${r.cmd}\` exited ${r.status}, expected 1; stderr: ${r.stderr.trim().slice(0, 2000)}` })
  }
  assert.ok(r.stderr.trim().length > 0, `${label}: \`${r.cmd}\` failed without a message`)
  if (re) assert.match(r.stderr, re, `${label}: \`${r.cmd}\` stderr`)
  return r
}

// `hypercore serve DIR --listen 127.0.0.1:0 [--stdin]`: waits for the key and port lines.
async function startCServer (dir, { stdin = false, env } = {}) {
  const args = ['serve', dir, '--listen', HOST + ':0']
  if (stdin) args.push('--stdin')
  const hd = spawnC(args, { env, stdin })
  const key = (await hd.waitLine(/^key ([0-9a-f]{64})$/))[1]
  const port = Number((await hd.waitLine(/^port (\d+)$/))[1])
  let appended = 0
  return {
    handle: hd,
    key,
    port,
    connect: HOST + ':' + port,
    // --stdin: appends one line, waits for "appended LENGTH"; returns LENGTH.
    async append (line) {
      const from = hd.lines.length
      hd.write(line + '\n')
      appended++
      return Number((await hd.waitLine(/^appended (\d+)$/, 10000, from))[1])
    },
    // --stdin: sends a raw command line, waits for a stdout line matching re.
    async command (line, re) {
      const from = hd.lines.length
      hd.write(line + '\n')
      return hd.waitLine(re, 10000, from)
    },
    // SIGTERM: serve closes its connections and the core and exits 0 (sanitizers get to
    // report leaks). Stopping twice is fine.
    async stop () {
      if (hd.proc.exitCode === null && hd.proc.signalCode === null) hd.kill('SIGTERM')
      const r = await waitExit(hd, 10000, 'serve')
      if (r.status !== 0) {
        throw new assert.AssertionError({ message: `\`${hd.cmd}\` exited ${r.status} on SIGTERM, expected 0; stderr: ${r.stderr.trim().slice(0, 2000)}` })
      }
      return r
    },
    get appended () { return appended }
  }
}

// ---------- JS peers ----------

function Hc (v) { return v === 'v10' ? require('hc10') : require('hc11') }

// A JS core (v10: in memory; v11: RocksDB in a temp dir). key: null for a new writable core.
async function jsCore (v, key = null, opts = {}) {
  const Hypercore = Hc(v)
  const storage = v === 'v10' ? require('random-access-memory') : path.join(h.tmpdir('hc11-'), 'core')
  const keyBuf = key === null ? null : (typeof key === 'string' ? Buffer.from(key, 'hex') : key)
  const core = keyBuf ? new Hypercore(storage, keyBuf, opts) : new Hypercore(storage, opts)
  await core.ready()
  return core
}

function pipeBoth (sock, stream) {
  sock.on('error', () => {})
  stream.on('error', () => {})
  sock.pipe(stream).pipe(sock)
  sock.on('close', () => stream.destroy())
  stream.on('close', () => sock.destroy())
}

// Serves `core` to every TCP connection (JS is the responder).
async function jsServe (core) {
  const socks = new Set()
  const server = net.createServer((sock) => {
    socks.add(sock)
    sock.on('close', () => socks.delete(sock))
    pipeBoth(sock, core.replicate(false))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, resolve)
  })
  const port = server.address().port
  return {
    port,
    connect: HOST + ':' + port,
    connections: () => socks.size,
    async close () {
      for (const s of socks) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

// Connects `core` to a server (JS is the initiator). Returns { socket, close() }.
async function jsConnect (core, port) {
  const sock = net.connect(port, HOST)
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve)
    sock.once('error', reject)
  })
  const stream = core.replicate(true)
  pipeBoth(sock, stream)
  return {
    socket: sock,
    stream,
    close () { stream.destroy(); sock.destroy() }
  }
}

// Rejects after ms.
function withTimeout (p, ms, label) {
  let timer
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new assert.AssertionError({ message: `${label}: timed out after ${ms} ms` })), ms)
    })
  ])
}

function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

// Polls fn() (async, returns truthy when done) every `every` ms for up to ms.
async function until (fn, ms, label, every = 20) {
  const end = Date.now() + ms
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() > end) throw new assert.AssertionError({ message: `${label}: condition not met within ${ms} ms` })
    await sleep(every)
  }
}

// ---------- data / checks ----------

// Test batches: empty blocks, tiny, 1 MiB, an empty batch, many small, 64 KiB.
function testBatches (seed = 1) {
  return [
    [Buffer.alloc(0), Buffer.from('a'), Buffer.from('hello world')],
    [h.bytes(1024 * 1024, seed * 100 + 1)],
    [],
    Array.from({ length: 40 }, (_, i) => h.bytes((i * 37) % 300, seed * 100 + 10 + i)),
    [h.bytes(64 * 1024, seed * 100 + 2), Buffer.alloc(0)],
    [h.bytes(1024 * 1024, seed * 100 + 3), Buffer.from('after the big one')]
  ]
}

async function jsAppendBatches (core, batches) {
  const blocks = []
  for (const b of batches) {
    if (b.length) await core.append(b)
    blocks.push(...b)
  }
  return blocks
}

// Appends batches with the C CLI (one `batch` call per batch, files in a temp dir).
function cAppendBatches (dir, batches) {
  const fs = require('node:fs')
  const tmp = h.tmpdir('hc-blocks-')
  const blocks = []
  let n = 0
  for (const b of batches) {
    if (!b.length) continue
    const files = b.map((buf) => {
      const f = path.join(tmp, 'b' + (n++))
      fs.writeFileSync(f, buf)
      return f
    })
    h.cli(['batch', dir, ...files])
    blocks.push(...b)
  }
  return blocks
}

async function jsStateOf (core) {
  return {
    length: core.length,
    fork: core.fork,
    treeHash: h.hex(await core.treeHash())
  }
}

// Every block of a JS core equals `blocks` (array of Buffer; null entries: must not be local).
async function jsCheckBlocks (core, blocks, label) {
  assert.strictEqual(core.length, blocks.length, `${label}: JS length`)
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i] === null) {
      assert.strictEqual(await core.has(i), false, `${label}: JS has(${i}) must be false`)
      continue
    }
    assert.ok(await core.has(i), `${label}: JS has(${i})`)
    const got = await core.get(i, { wait: false })
    assert.ok(got, `${label}: JS get(${i}) returned nothing`)
    h.assertBuf(got, blocks[i], `${label}: JS get(${i})`)
  }
}

// JS's own storage audit finds nothing to fix.
async function jsAudit (v, core, label) {
  if (v === 'v10') {
    const c = await core.core.audit()
    assert.deepStrictEqual({ tree: c.tree, blocks: c.blocks }, { tree: 0, blocks: 0 }, `${label}: v10 audit corrections`)
  } else {
    const s = await core.core.audit({ dryRun: true })
    assert.ok(s, `${label}: v11 audit returned null (corrupt roots)`)
    assert.deepStrictEqual({ corrupt: s.corrupt, droppedTreeNodes: s.droppedTreeNodes, droppedBlocks: s.droppedBlocks, droppedBits: s.droppedBits },
      { corrupt: false, droppedTreeNodes: 0, droppedBlocks: 0, droppedBits: 0 }, `${label}: v11 audit`)
  }
}

// C dir state (info --json) matches the JS core: length, fork, tree hash.
async function cMatchesJs (dir, core, label) {
  const st = await jsStateOf(core)
  h.assertState(h.info(dir), { key: h.hex(core.key), length: st.length, fork: st.fork, treeHash: st.treeHash }, label)
}

module.exports = {
  VERSIONS, HOST, spawnC, waitExit, runC, cliOk, cliErr, startCServer, checkSanitizer,
  Hc, jsCore, jsServe, jsConnect, pipeBoth, withTimeout, sleep, until,
  testBatches, jsAppendBatches, cAppendBatches, jsStateOf, jsCheckBlocks, jsAudit, cMatchesJs
}
