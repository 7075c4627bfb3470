#!/usr/bin/env node
'use strict'
// The JS reference (hypercore 10.38.2) as the server of the hostile suite, for the anchor figures:
//   HC_HOSTILE_SERVER_BIN=tests/hostile/js-serve.js build/tests/hostile/hostile CASE
// Implements only `serve DIR --listen HOST:PORT` (other flags ignored): prints "key KEY" and
// "port PORT" like the C CLI, serves every connection with core.replicate(false), and exits 0
// on SIGTERM/SIGINT. Needs `npm ci` in tests/interop.
const path = require('path')
const net = require('net')
const Hypercore = require(path.join(__dirname, '../interop/node_modules/hc10'))

async function main () {
  const args = process.argv.slice(2)
  if (args[0] !== 'serve' || !args[1]) {
    console.error('usage: js-serve.js serve DIR --listen HOST:PORT')
    process.exit(2)
  }
  const li = args.indexOf('--listen')
  const [host, port] = li >= 0 ? args[li + 1].split(':') : ['127.0.0.1', '0']
  const core = new Hypercore(args[1])
  await core.ready()
  const server = net.createServer((socket) => {
    const s = core.replicate(false)
    socket.pipe(s).pipe(socket)
    s.on('error', () => {})
    socket.on('error', () => {})
  })
  server.listen(Number(port), host, () => {
    process.stdout.write('key ' + core.key.toString('hex') + '\nport ' + server.address().port + '\n')
  })
  const stop = async () => {
    server.close()
    await core.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
