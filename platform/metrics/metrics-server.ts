import http from 'node:http'
import {Registry} from 'prom-client'
import {formatHostPort} from '../../src/lib/listen-address.js'
import type {ReadinessReport} from '../readiness.js'
import {listenOn} from '../listen.js'

export interface MetricsServerOptions {
  host: string
  port: number
  /** the text exposition, produced per scrape */
  metrics(): Promise<string>
  ready(): Promise<ReadinessReport>
}

/**
 * The metrics listener: plain HTTP (loopback unless the operator named another address), apart
 * from the end-user and API ports, answering GET /metrics, /healthz (alive) and /readyz.
 */
export class MetricsServer {
  readonly server: http.Server

  constructor(private readonly opts: MetricsServerOptions) {
    this.server = http.createServer((req, res) => void this.handle(req, res))
    this.server.keepAliveTimeout = 10_000
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', '{"error":{"code":"method_not_allowed","message":"only GET"}}\n', {allow: 'GET, HEAD'})
    if (path === '/metrics') {
      try {
        return send(res, 200, Registry.PROMETHEUS_CONTENT_TYPE, await this.opts.metrics())
      } catch (error) {
        return send(res, 500, 'text/plain; charset=utf-8', `cannot collect metrics: ${(error as Error).message}\n`)
      }
    }
    if (path === '/healthz') return send(res, 200, 'application/json', '{"ok":true}\n')
    if (path === '/readyz') {
      const r = await this.opts.ready()
      return send(res, r.ready ? 200 : 503, 'application/json', JSON.stringify(r) + '\n')
    }
    send(res, 404, 'application/json', '{"error":{"code":"not_found","message":"try /metrics, /healthz or /readyz"}}\n')
  }

  async listen(): Promise<string> {
    const port = await listenOn(this.server, this.opts.port, this.opts.host)
    const host = this.opts.host === '0.0.0.0' ? '127.0.0.1' : this.opts.host === '::' ? '::1' : this.opts.host
    return `http://${formatHostPort(host, port)}/metrics`
  }

  /** Stops listening and ends idle keep-alive connections; safe to call twice. */
  async close(): Promise<void> {
    if (!this.server.listening) return
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    await closed
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers})
  res.end(body)
}
