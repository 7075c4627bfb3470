'use strict'
// Shared helpers for the interop tests: run the C `hypercore` CLI, temp dirs, comparisons.
// Each test-*.js is a standalone program run by CTest (cwd tests/interop) with
// HYPERCORE_BIN (the CLI), HC_SHARED (../shared) and HC_BUILD (the build dir) in the env.

const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')

const BIN = process.env.HYPERCORE_BIN
const SHARED = process.env.HC_SHARED || path.resolve(__dirname, '../../../../shared')

const hex = (b) => (b === null || b === undefined) ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

// ---------- temp dirs (removed at exit) ----------

const tmpRoots = []
function tmpdir (prefix = 'hc-interop-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tmpRoots.push(d)
  return d
}
function cleanup () {
  if (process.env.HC_KEEP_TMP) {
    for (const d of tmpRoots) console.error('# kept', d)
    return
  }
  for (const d of tmpRoots.splice(0)) {
    try { fs.rmSync(d, { recursive: true, force: true }) } catch {}
  }
}
process.on('exit', cleanup)

// Copies a (possibly read-only) directory and makes the copy writable.
function copyDir (src, dst) {
  fs.mkdirSync(dst, { recursive: true })
  for (const name of fs.readdirSync(src)) {
    const s = path.join(src, name)
    const d = path.join(dst, name)
    if (fs.statSync(s).isDirectory()) copyDir(s, d)
    else {
      fs.copyFileSync(s, d)
      fs.chmodSync(d, 0o644)
    }
  }
  fs.chmodSync(dst, 0o755)
  return dst
}

// Snapshot of every file in a dir: name -> Buffer.
function readDirFiles (dir) {
  const out = {}
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name)
    if (fs.statSync(p).isFile()) out[name] = fs.readFileSync(p)
  }
  return out
}

// ---------- the CLI ----------

function requireBin () {
  if (!BIN) throw new Error('HYPERCORE_BIN is not set (path of the built `hypercore` CLI)')
  if (!fs.existsSync(BIN)) throw new Error('HYPERCORE_BIN does not exist: ' + BIN)
  return BIN
}

// Runs the CLI; returns { status, stdout: Buffer, stderr: string, cmd }.
function run (args, { input } = {}) {
  requireBin()
  const r = spawnSync(BIN, args.map(String), {
    input: input === undefined ? Buffer.alloc(0) : input,
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120000
  })
  if (r.error) throw r.error
  const stderr = r.stderr.toString()
  if (/ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/.test(stderr)) {
    throw new assert.AssertionError({ message: `sanitizer report from hypercore ${args.join(' ')}:\n${stderr.slice(0, 4000)}` })
  }
  return {
    status: r.status === null ? 'signal ' + r.signal : r.status,
    stdout: r.stdout,
    stderr: r.stderr.toString(),
    cmd: 'hypercore ' + args.map(a => /^[\w./:=-]+$/.test(String(a)) ? a : JSON.stringify(String(a))).join(' ')
  }
}

// Runs the CLI and asserts exit 0; returns stdout (Buffer).
function cli (args, opts) {
  const r = run(args, opts)
  if (r.status !== 0) {
    throw new assert.AssertionError({
      message: `\`${r.cmd}\` exited with ${r.status}; stderr: ${r.stderr.trim() || '(empty)'}`
    })
  }
  return r.stdout
}

function cliText (args, opts) {
  return cli(args, opts).toString().trim()
}

// Runs the CLI and asserts it fails cleanly: exit 1 (operational error) with a message on stderr.
function cliFails (args, opts, why = '') {
  const r = run(args, opts)
  if (r.status !== 1) {
    throw new assert.AssertionError({ message: `\`${r.cmd}\` exited ${r.status}, expected 1${why ? ' (' + why + ')' : ''}; stdout: ${r.stdout.toString().slice(0, 200)} stderr: ${r.stderr.trim()}` })
  }
  assert.ok(r.stderr.trim().length > 0, `\`${r.cmd}\` failed without a message on stderr`)
  return r
}

const NUMERIC = ['length', 'byteLength', 'fork', 'contiguousLength']
const INFO_FIELDS = ['key', 'discoveryKey', 'length', 'byteLength', 'fork', 'contiguousLength', 'treeHash']

// `hypercore info DIR --json`, normalised (numbers as numbers, hex lower-case).
function info (dir) {
  const out = cliText(['info', dir, '--json'])
  let j
  try { j = JSON.parse(out) } catch (e) {
    throw new assert.AssertionError({ message: `info --json printed invalid JSON: ${out.slice(0, 300)}` })
  }
  for (const k of INFO_FIELDS) {
    assert.ok(k in j, `info --json lacks field "${k}" (got: ${Object.keys(j).join(', ')})`)
  }
  for (const k of NUMERIC) j[k] = Number(j[k])
  for (const k of ['key', 'discoveryKey', 'treeHash']) if (typeof j[k] === 'string') j[k] = j[k].toLowerCase()
  return j
}

// Asserts every field of `expected` (subset of INFO_FIELDS) equals `actual`, listing ALL mismatches.
function assertState (actual, expected, label) {
  const bad = []
  for (const k of Object.keys(expected)) {
    const e = NUMERIC.includes(k) ? Number(expected[k]) : expected[k]
    if (actual[k] !== e) bad.push(`${k}: C=${JSON.stringify(actual[k])} expected=${JSON.stringify(e)}`)
  }
  if (bad.length) throw new assert.AssertionError({ message: `${label}: state mismatch:\n  ` + bad.join('\n  ') })
}

function assertBuf (actual, expected, label) {
  actual = Buffer.from(actual)
  expected = Buffer.from(expected)
  if (actual.equals(expected)) return
  let i = 0
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++
  const ctx = (b) => b.subarray(Math.max(0, i - 8), i + 24).toString('hex')
  throw new assert.AssertionError({
    message: `${label}: bytes differ: C has ${actual.length} bytes, expected ${expected.length}; first difference at offset ${i}` +
      ` (C …${ctx(actual)}… vs expected …${ctx(expected)}…)`
  })
}

// Checks `get` of every block and `cat` of the whole core against `blocks` (array of Buffer|null;
// null = not stored locally, `get` must fail).
function checkBlocks (dir, blocks, label) {
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i] === null) {
      cliFails(['get', dir, i], undefined, `${label}: block ${i} was cleared`)
      continue
    }
    assertBuf(cli(['get', dir, i]), blocks[i], `${label}: get ${i}`)
  }
  if (blocks.every(b => b !== null)) {
    assertBuf(cli(['cat', dir]), Buffer.concat(blocks), `${label}: cat`)
  }
}

function verifyOk (dir, label) {
  const r = run(['verify', dir])
  assert.strictEqual(r.status, 0, `${label}: \`${r.cmd}\` exited ${r.status}; stdout: ${r.stdout.toString().trim()} stderr: ${r.stderr.trim()}`)
}

// Does the CLI know subcommand `name`? (looks at its usage text)
let usageText = null
function cliHas (name) {
  if (usageText === null) {
    const a = run(['--help'])
    const b = run([])
    usageText = a.stdout.toString() + a.stderr + b.stdout.toString() + b.stderr
  }
  return new RegExp('(^|\\s)' + name.replace(/[-]/g, '\\-') + '(\\s|$)', 'm').test(usageText)
}

// ---------- JS reference ----------

function Hypercore10 () { return require('hc10') }

async function jsState (core) {
  await core.ready()
  return {
    key: hex(core.key),
    discoveryKey: hex(core.discoveryKey),
    length: core.length,
    byteLength: core.byteLength,
    fork: core.fork,
    contiguousLength: core.contiguousLength,
    treeHash: hex(await core.treeHash())
  }
}

// What JS reports when it opens the directory (on a copy, so `dir` stays untouched): the state
// plus every block (null when not stored locally). This is the on-disk truth C must match; it can
// differ from the in-session values (e.g. 10.38.2 forgets a clear()'s contiguousLength on reopen).
async function jsDiskState (dir) {
  const Hypercore = Hypercore10()
  const copy = copyDir(dir, path.join(tmpdir('hc-jsopen-'), 'core'))
  const core = new Hypercore(copy)
  await core.ready()
  const state = await jsState(core)
  const blocks = []
  for (let i = 0; i < core.length; i++) blocks.push(await core.has(i) ? await core.get(i, { wait: false }) : null)
  await core.close()
  return { state, blocks }
}

// Decodes a hypercore 10 oplog file: { slots: [{bit, header}|null, ...], header (active), entries }.
function decodeOplog (buf) {
  const c = require('compact-encoding')
  const m = require('hc10/lib/messages')
  const { crc32 } = require('crc-universal')
  const frame = (start, enc) => {
    if (buf.length - start < 8) return null
    const cksum = buf.readUInt32LE(start)
    const l = buf.readUInt32LE(start + 4)
    const len = l >>> 2
    if (buf.length - start - 8 < len) return null
    if (crc32(buf.subarray(start + 4, start + 8 + len)) !== cksum) return null
    return { bit: l & 1, partial: (l & 2) !== 0, end: start + 8 + len, message: c.decode(enc, buf.subarray(start + 8, start + 8 + len)) }
  }
  const s0 = frame(0, m.oplog.header)
  const s1 = frame(4096, m.oplog.header)
  let active = null
  if (s0 && s1) active = ((s0.bit + s1.bit) & 1) === 0 ? s0 : s1
  else active = s0 || s1
  const entries = []
  let off = 8192
  for (;;) {
    const e = frame(off, m.oplog.entry)
    if (!e) break
    entries.push(e.message)
    off = e.end
  }
  return { slots: [s0, s1], header: active && active.message, entries }
}

// A plain-JSON view of an oplog header (for deep comparison / messages).
function headerView (h) {
  if (!h) return null
  const conv = (v) => {
    if (v === null || v === undefined) return v
    if (Buffer.isBuffer(v) || v instanceof Uint8Array) return hex(v)
    if (Array.isArray(v)) return v.map(conv)
    if (typeof v === 'object') { const o = {}; for (const k of Object.keys(v)) o[k] = conv(v[k]); return o }
    return v
  }
  return conv(h)
}

// ---------- data ----------

// Deterministic pseudo-random bytes.
function bytes (n, seed = 1) {
  const out = Buffer.alloc(n)
  let off = 0
  let ctr = 0
  while (off < n) {
    const h = crypto.createHash('sha256').update(`${seed}:${ctr++}`).digest()
    off += h.copy(out, off)
  }
  return out
}

// ---------- runner ----------

let checks = 0
function step (msg) { checks++; console.log('# ' + msg) }

function main (fn) {
  fn().then(() => {
    console.log(`ok (${checks} steps)`)
    cleanup()
    process.exit(0)
  }, (err) => {
    console.error('FAIL:', err && err.message ? err.message : err)
    if (err && err.stack && !(err instanceof assert.AssertionError)) console.error(err.stack)
    cleanup()
    process.exit(1)
  })
}

module.exports = {
  BIN, SHARED, hex, tmpdir, copyDir, readDirFiles, run, cli, cliText, cliFails, info,
  assertState, assertBuf, checkBlocks, verifyOk, cliHas, Hypercore10, jsState, jsDiskState, decodeOplog,
  headerView, bytes, step, main, INFO_FIELDS
}
