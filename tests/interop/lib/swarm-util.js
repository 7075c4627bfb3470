'use strict'
// Helpers for the Hyperswarm interop tests (test-swarm-*.js): a hyperdht testnet on
// 127.0.0.1 only, JS hyperswarm peers on it, and the bootstrap list for the C CLI.
const createTestnet = require('hyperdht/testnet')
const Hyperswarm = require('hyperswarm')

// A DHT of `size` nodes, all bound to 127.0.0.1. Returns { testnet, bootstrap: 'host:port,...' }.
async function loopbackTestnet (size = 3) {
  const testnet = await createTestnet(size, { host: '127.0.0.1' })
  const bootstrap = testnet.bootstrap.map(b => `${b.host}:${b.port}`).join(',')
  return { testnet, bootstrap }
}

// A JS swarm on the testnet: bound to 127.0.0.1; `firewalled` (default true: hyperdht's
// default, so the C side is the one that must be reachable).
function jsSwarm (testnet, { firewalled = true } = {}) {
  const dht = testnet.createNode({ host: '127.0.0.1', firewalled })
  return new Hyperswarm({ dht })
}

// `hypercore serve DIR --swarm --bootstrap B [--stdin]`: waits for "key", "discovery-key" and
// "joined" (announced). Returns { handle, key, discoveryKey, append(line), stop() }.
async function startCSwarmServer (dir, bootstrap, { stdin = false, env } = {}) {
  const u = require('./repl-util')
  const assert = require('node:assert')
  const args = ['serve', dir, '--swarm', '--bootstrap', bootstrap]
  if (stdin) args.push('--stdin')
  const hd = u.spawnC(args, { env, stdin })
  const key = (await hd.waitLine(/^key ([0-9a-f]{64})$/, 30000))[1]
  const discoveryKey = (await hd.waitLine(/^discovery-key ([0-9a-f]{64})$/, 30000))[1]
  await hd.waitLine(/^joined ([0-9a-f]{64})$/, 30000)
  return {
    handle: hd,
    key,
    discoveryKey,
    async append (line) {
      const from = hd.lines.length
      hd.write(line + '\n')
      return Number((await hd.waitLine(/^appended (\d+)$/, 10000, from))[1])
    },
    // SIGTERM: unannounce, close, exit 0.
    async stop () {
      if (hd.proc.exitCode === null && hd.proc.signalCode === null) hd.kill('SIGTERM')
      const r = await u.waitExit(hd, 15000, 'serve --swarm')
      if (r.status !== 0) {
        throw new assert.AssertionError({ message: `\`${hd.cmd}\` exited ${r.status} on SIGTERM, expected 0; stderr: ${r.stderr.trim().slice(0, 2000)}` })
      }
      return r
    }
  }
}

// Open connections a C process reports on stderr ("(N connections)" of its last event).
function cConnections (stderr) {
  const m = [...stderr.matchAll(/swarm: (?:dis)?connected (?:to|from) [0-9a-f]{16}.*\((\d+) connections?\)/g)]
  return m.length ? Number(m[m.length - 1][1]) : 0
}

module.exports = { loopbackTestnet, jsSwarm, startCSwarmServer, cConnections }
