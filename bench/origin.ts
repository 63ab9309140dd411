// The benchmark origin (same contract as ../shared/bench/origin.mjs): Node built-ins only, loopback.
//   GET /small -> 100-byte body; GET /large?mb=N -> N MiB of zeros; POST /upload -> "<bytes>\n"; GET /health;
//   WebSocket /ws -> echo.
// Usage: node dist/bench/origin.js [PORT]; prints "listening PORT" once bound (0 = any free port).
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {WebSocketServer} from 'ws'

const SMALL = Buffer.from('x'.repeat(99) + '\n')
const CHUNK = Buffer.alloc(64 * 1024)
const MIB = 1024 * 1024

const server = http.createServer((req, res) => {
  const [path, query = ''] = (req.url ?? '/').split('?')
  if (req.method === 'GET' && path === '/small') {
    res.writeHead(200, {'content-type': 'text/plain', 'content-length': SMALL.length}).end(SMALL)
  } else if (req.method === 'GET' && path === '/large') {
    const mb = Number(new URLSearchParams(query).get('mb') ?? 1)
    if (!Number.isFinite(mb) || mb < 0 || mb > 4096) return void res.writeHead(400).end('bad mb\n')
    let left = Math.floor(mb * MIB)
    res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': left})
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length)
        left -= n
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  } else if (req.method === 'POST' && path === '/upload') {
    let bytes = 0
    req.on('data', (c: Buffer) => (bytes += c.length))
    req.on('end', () => res.writeHead(200, {'content-type': 'text/plain'}).end(`${bytes}\n`))
  } else if (path === '/health') {
    res.writeHead(200).end('ok\n')
  } else {
    res.writeHead(404).end()
  }
})
const wss = new WebSocketServer({server, path: '/ws'})
wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, {binary})))
server.keepAliveTimeout = 60_000
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`))
process.on('SIGTERM', () => process.exit(0))
