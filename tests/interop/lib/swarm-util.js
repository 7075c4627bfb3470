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

module.exports = { loopbackTestnet, jsSwarm }
