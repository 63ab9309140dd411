import {createHash} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import type {ExecutionContext} from 'ava'
import {WebSocketServer} from 'ws'

export interface TestOrigin {
  url: string
  port: number
  server: http.Server
  /** requests the origin has seen */
  seen: Array<{method: string; url: string; headers: http.IncomingHttpHeaders}>
  /** URLs of /hang requests whose connection went away (the cancel reached the origin) */
  cancelled: string[]
  close(): Promise<void>
}

/**
 * A local service on 127.0.0.1:0 with the behaviours the tunnel tests need:
 * GET /hello, GET /headers (echo as JSON), POST /sha256 (count + hash of the body),
 * GET /bytes/N (N deterministic bytes, streamed), GET /sse?n=N (an event, then waits for /sse-next),
 * GET /slow?ms=N, GET /hang (never answers), WebSocket echo on /ws.
 */
export async function startOrigin(t: ExecutionContext, name = 'origin'): Promise<TestOrigin> {
  const seen: TestOrigin['seen'] = []
  const cancelled: string[] = []
  const sseClients = new Set<http.ServerResponse>()
  const server = http.createServer((req, res) => {
    seen.push({method: req.method!, url: req.url!, headers: req.headers})
    const u = new URL(req.url!, 'http://x')
    switch (u.pathname) {
      case '/hello':
        res.setHeader('content-type', 'text/plain')
        res.setHeader('x-origin', name)
        return res.end(`hello from ${name}\n`)
      case '/headers':
        res.setHeader('content-type', 'application/json')
        return res.end(JSON.stringify(req.headers))
      case '/sha256': {
        const h = createHash('sha256')
        let n = 0
        req.on('data', (c: Buffer) => {
          n += c.length
          h.update(c)
        })
        req.on('end', () => {
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify({bytes: n, sha256: h.digest('hex')}))
        })
        return
      }
      case '/bytes': {
        const total = Number(u.searchParams.get('n'))
        res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': String(total)})
        let sent = 0
        const write = () => {
          while (sent < total) {
            const size = Math.min(256 * 1024, total - sent)
            const chunk = patternChunk(sent, size)
            sent += size
            if (!res.write(chunk)) return res.once('drain', write)
          }
          res.end()
        }
        return write()
      }
      case '/sse':
        res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-store'})
        res.write(`data: first\n\n`)
        sseClients.add(res)
        req.on('close', () => sseClients.delete(res))
        return
      case '/sse-next': {
        const data = u.searchParams.get('data') ?? 'next'
        for (const c of sseClients) c.write(`data: ${data}\n\n`)
        return res.end(String(sseClients.size))
      }
      case '/slow':
        setTimeout(() => res.end('slow done\n'), Number(u.searchParams.get('ms') ?? 1000))
        return
      case '/hang':
        res.on('close', () => cancelled.push(req.url!))
        return
      default:
        res.statusCode = 404
        return res.end('origin 404\n')
    }
  })
  const wss = new WebSocketServer({server, path: '/ws'})
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary})))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  let closed = false
  const origin: TestOrigin = {
    url: `http://127.0.0.1:${port}`, port, server, seen, cancelled,
    async close() {
      if (closed) return
      closed = true
      for (const c of sseClients) c.destroy()
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
  t.teardown(() => origin.close())
  return origin
}

/** Deterministic bytes at an offset, so both ends can hash the same stream without buffering it. */
export function patternChunk(offset: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = ((offset + i) * 31 + 7) & 0xff
  return b
}
