// server.js - a plain aedes MQTT broker on 127.0.0.1, for tests/aedes.sh and tests/ws.sh.
//
//   node tests/aedes/server.js PORT [AEDES_PREFIX [ws]]
//
// Prints "listening on 127.0.0.1:PORT" once the socket is bound (PORT 0: a free port chosen by
// the kernel, and the line names it). With ws, MQTT over WebSocket instead: an HTTP server on
// PORT whose upgrades (any path) the npm package ws accepts, selecting the subprotocol mqtt
// when the client offers it, each connection's byte stream (ws's createWebSocketStream)
// handed to aedes as a socket would be, as aedes's documentation does it. SIGTERM and SIGINT close the broker and the listening
// socket and exit 0. Default options throughout (in-memory persistence, no authentication):
// the broker as the npm package ships it.
//
// aedes is installed by tests/aedes.sh, at the version pinned in package.json next to this
// file, under AEDES_PREFIX/node_modules (default: build/aedes in the repository). It is
// imported from there by path, because an ES module's imports do not follow NODE_PATH.
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { resolve, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const port = Number(process.argv[2])
if (!/^[0-9]+$/.test(process.argv[2] || '') || port > 65535) {
  console.error('usage: node server.js PORT [AEDES_PREFIX]')
  process.exit(2)
}
const here = dirname(fileURLToPath(import.meta.url))
const prefix = resolve(process.argv[3] || join(here, '..', '..', 'build', 'aedes'))
let entry
try {
  entry = createRequire(join(prefix, 'package.json')).resolve('aedes')
} catch (e) {
  console.error(`aedes is not installed under ${prefix}: ${e.message}`)
  process.exit(2)
}
const { Aedes } = await import(pathToFileURL(entry).href)

const aedes = await Aedes.createBroker()
let server
if (process.argv[4] === 'ws') {
  // ws is CommonJS: its exports hang off the default one.
  const { WebSocketServer, createWebSocketStream } =
    (await import(pathToFileURL(createRequire(join(prefix, 'package.json')).resolve('ws')).href)).default
  const { createServer: createHttpServer } = await import('node:http')
  server = createHttpServer((req, res) => { res.writeHead(426); res.end() })
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false)
  })
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)))
} else {
  server = createServer(aedes.handle)
}

server.on('error', (e) => {
  console.error(`aedes server: ${e.message}`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`)
})

let stopping = false
function stop () {
  if (stopping) return
  stopping = true
  // Open client sockets would keep server.close() waiting: aedes.close() ends them first.
  aedes.close(() => server.close(() => process.exit(0)))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
