import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {formatHostPort, type ListenAddress} from '../lib/listen-address.js'
import type {Warpgate} from './warpgate.js'

/**
 * `mezu-warpgate --metrics-addr`: the Warpgate's counters for a local Prometheus scrape, with
 * /healthz (alive) and /readyz (at least one tunnel connection up). Off unless asked for, and
 * prom-client is loaded only then: the lean runtime keeps its memory when nobody scrapes it.
 */
export async function serveWarpgateMetrics(wg: Warpgate, addr: ListenAddress): Promise<{url: string; close(): Promise<void>}> {
  const {Counter, Gauge, Registry, collectDefaultMetrics} = await import('prom-client')
  const registry = new Registry()
  collectDefaultMetrics({register: registry, eventLoopMonitoringPrecision: 10})
  const c = wg.counters
  // Counters are read from the Warpgate's own numbers at scrape time: nothing is counted twice.
  const counter = (name: string, help: string, value: () => number) => new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset()
      this.inc(value())
    },
  })
  counter('mezu_warpgate_requests_total', 'Requests served to the origin (upgrades included).', () => c.requests)
  counter('mezu_warpgate_origin_errors_total', 'Requests that failed at the origin after it was reached.', () => c.originErrors)
  counter('mezu_warpgate_origin_connect_failures_total', 'Requests for which the origin could not be reached.', () => c.originConnectFailures)
  counter('mezu_warpgate_reconnects_total', 'Tunnel reconnect attempts.', () => c.reconnects)
  new Gauge({name: 'mezu_warpgate_streams_open', help: 'Streams in flight.', registers: [registry], collect() {
    this.set(c.snapshot().streams)
  }})
  new Gauge({name: 'mezu_warpgate_tunnel_connections', help: 'Tunnel connections up.', registers: [registry], collect() {
    this.set(wg.connectionCount)
  }})

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body)})
      res.end(body)
    }
    if (path === '/metrics') {
      registry.metrics().then((text) => send(200, registry.contentType, text), (error: Error) => send(500, 'text/plain; charset=utf-8', `cannot collect metrics: ${error.message}\n`))
    } else if (path === '/healthz') {
      send(200, 'application/json', '{"ok":true}\n')
    } else if (path === '/readyz') {
      const up = wg.connectionCount
      send(up > 0 ? 200 : 503, 'application/json', JSON.stringify({ready: up > 0, failing: up > 0 ? [] : ['tunnel'], checks: {tunnel: up > 0 ? {ok: true} : {ok: false, message: 'no tunnel connection is up'}}}) + '\n')
    } else {
      send(404, 'application/json', '{"error":{"code":"not_found","message":"try /metrics, /healthz or /readyz"}}\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // the Warpgate's keep-alive timer keeps the process up; this listener must not on its own
  server.unref()
  const port = (server.address() as AddressInfo).port
  const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host
  return {
    url: `http://${formatHostPort(host, port)}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
