import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'
import type {FastifyInstance} from 'fastify'
import {ApiError} from './errors.js'

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void

const routers = new WeakMap<FastifyInstance, Map<string, UpgradeHandler>>()

/**
 * Routes the API server's upgrade requests (WebSocket streams) by path: one `upgrade` listener for
 * every module, so a path nobody serves is refused with the API's error shape rather than left hanging.
 */
export function onUpgrade(app: FastifyInstance, path: string, handler: UpgradeHandler): void {
  let paths = routers.get(app)
  if (!paths) {
    const table = new Map<string, UpgradeHandler>()
    paths = table
    routers.set(app, table)
    app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'https://api.invalid')
      const serve = table.get(url.pathname)
      if (!serve) return refuseUpgrade(socket, new ApiError('not_found', `no such endpoint: GET ${url.pathname}`))
      serve(req, socket, head, url)
    })
  }
  paths.set(path, handler)
}

/** Answers an upgrade request with an API error instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toBody())
  const reason = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found'}[err.status] ?? 'Error'
  const auth = err.status === 401 ? 'WWW-Authenticate: Bearer realm="mezu", error="invalid_token"\r\n' : ''
  socket.end(`HTTP/1.1 ${err.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n${auth}Connection: close\r\n\r\n${body}`)
}
