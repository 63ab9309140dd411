import http from 'node:http'
import type {Socket} from 'node:net'
import {ACME_HTTP_CHALLENGE_PREFIX} from '../../src/protocol/acme.js'
import {normaliseHost} from './router.js'
import {listenOn} from '../listen.js'

export interface AcmeHttpOptions {
  host: string
  port: number
  /** HTTP-01: the key authorization for a pending token, undefined for any other */
  keyAuthorization(token: string): string | undefined
  /** the public HTTPS port everything else is redirected to */
  httpsPort(): number
}

/**
 * The plain-HTTP listener (`--acme-http-port`): answers HTTP-01 challenges from memory and sends
 * every other request to the same URL over HTTPS. It never proxies anything.
 */
export class AcmeHttpListener {
  readonly server: http.Server
  private readonly sockets = new Set<Socket>()

  constructor(private readonly opts: AcmeHttpOptions) {
    this.server = http.createServer({maxHeaderSize: 8 * 1024, headersTimeout: 10_000, requestTimeout: 10_000}, (req, res) => this.handle(req, res))
    this.server.on('connection', (s) => {
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
    })
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/'
    req.resume()
    if (url.startsWith(ACME_HTTP_CHALLENGE_PREFIX)) {
      const answer = this.opts.keyAuthorization(url.slice(ACME_HTTP_CHALLENGE_PREFIX.length))
      if (answer === undefined) return end(res, 404, 'no such challenge\n')
      return end(res, 200, answer)
    }
    const host = normaliseHost(req.headers.host)
    if (!host || !url.startsWith('/')) return end(res, 400, 'bad request\n')
    const port = this.opts.httpsPort()
    res.writeHead(308, {location: `https://${host}${port === 443 ? '' : `:${port}`}${url}`, 'content-length': '0', 'cache-control': 'no-store'})
    res.end()
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.port, this.opts.host)
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (!this.server.listening) return
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }
}

function end(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store'})
  res.end(body)
}
