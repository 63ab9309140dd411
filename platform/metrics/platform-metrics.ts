import {collectDefaultMetrics, Registry} from 'prom-client'
import {type EdgeObserver, ROUTE_AUTH, ROUTE_NONE} from '../edge/observer.js'
import type {TunnelPool} from '../edge/tunnel/pool.js'
import type {TunnelSession} from '../edge/tunnel/session.js'
import {CollectedMetric, RequestSeries, type Sample} from './collected.js'

/** What the metrics read at scrape time from the running platform. */
export interface MetricsSources {
  /** the edge's tunnel connections; absent in a control plane without an edge (--role control) */
  pool?: TunnelPool
  /** the configuration version the edge serves */
  edgeConfigVersion(): number
  /** the configuration version committed in the store (as last sampled) */
  storeConfigVersion(): number
  /** reads what the two above report from the store; awaited before each scrape */
  sample(): Promise<void>
  /** seconds the edge has been behind the store (0 when current) */
  configLagSeconds(): number
  /** the routes of the edge's snapshot, for mezu_route_info */
  routes(): ReadonlyArray<{id: string; hostname: string}>
}

/** Status classes by hundreds digit; anything else (0, 600+) is "other". */
const CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx']

/** A label value from code (a login method, a policy reason): short, plain, never free text. */
const bounded = (s: string) => (/^[a-z][a-z0-9_-]{0,39}$/.test(s) ? s : 'other')

/**
 * The platform's Prometheus metrics, one Registry per platform instance (tests run several in one
 * process). The edge's per-request work is a Map lookup and a few additions (RequestSeries);
 * everything is turned into samples only when /metrics is scraped.
 */
export class PlatformMetrics implements EdgeObserver {
  readonly registry = new Registry()
  private readonly byRoute = new Map<string, Array<RequestSeries | undefined>>()
  private readonly counters = new Map<string, Map<string, {labels: Record<string, string>; value: number}>>()
  private readonly api = new Map<string, {labels: Record<string, string>; count: number; series: RequestSeries}>()
  private readonly healthChanges = new Map<string, number>()
  private tunnel = {accepted: 0, closed: 0, refused: 0}
  private sources?: MetricsSources

  constructor() {
    collectDefaultMetrics({register: this.registry, eventLoopMonitoringPrecision: 10})
    const edgeSeries = () => {
      this.forgetDeletedRoutes()
      const out: RequestSeries[] = []
      for (const row of this.byRoute.values()) for (const s of row) if (s) out.push(s)
      return out
    }
    const m = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => Sample[]) => new CollectedMetric(name, help, type, samples).register(this.registry)
    m('mezu_edge_requests_total', 'End-user requests the edge finished, by route id and status class.', 'counter', () => edgeSeries().map((s) => ({labels: s.labels, value: s.count})))
    m('mezu_edge_request_duration_seconds', 'Time from a request\'s arrival at the edge to the end of its response, by route id and status class.', 'histogram', () => edgeSeries().flatMap((s) => s.histogram('mezu_edge_request_duration_seconds')))
    m('mezu_edge_request_bytes_total', 'Request body bytes received from end users, by route id and status class.', 'counter', () => edgeSeries().map((s) => ({labels: s.labels, value: s.bytesIn})))
    m('mezu_edge_response_bytes_total', 'Response body bytes sent to end users, by route id and status class.', 'counter', () => edgeSeries().map((s) => ({labels: s.labels, value: s.bytesOut})))
    m('mezu_route_info', 'One sample per route the edge serves: its id and hostname.', 'gauge', () => (this.sources?.routes() ?? []).map((r) => ({labels: {route: r.id, host: r.hostname}, value: 1})))

    for (const [name, help] of [
      ['mezu_logins_total', 'Logins by method and outcome (success, wrong-password, refused-disabled, denied, ...).'],
      ['mezu_rate_limit_refusals_total', 'Requests refused by a rate limit, by scope (route, auth, login, device-code, device-start).'],
      ['mezu_policy_denials_total', 'Requests a route\'s policy refused, by route id and first reason.'],
    ] as const) {
      this.counters.set(name, new Map())
      m(name, help, 'counter', () => [...this.counters.get(name)!.values()].map((c) => ({labels: c.labels, value: c.value})))
    }

    m('mezu_api_requests_total', 'Control API requests by method, route pattern and status code.', 'counter', () => [...this.api.values()].map((a) => ({labels: a.labels, value: a.count})))
    m('mezu_api_request_duration_seconds', 'Control API request duration by method, route pattern and status code.', 'histogram', () => [...this.api.values()].flatMap((a) => a.series.histogram('mezu_api_request_duration_seconds')))

    m('mezu_tunnel_connections', 'Tunnel connections from Warpgates that are up.', 'gauge', () => [{labels: {}, value: this.sessions().length}])
    m('mezu_tunnel_streams_open', 'Request streams in flight over all tunnel connections.', 'gauge', () => [{labels: {}, value: this.sessions().reduce((n, s) => n + s.active, 0)}])
    m('mezu_tunnel_connections_accepted_total', 'Tunnel connections accepted (certificate and registration checked, hello received).', 'counter', () => [{labels: {}, value: this.tunnel.accepted}])
    m('mezu_tunnel_connections_closed_total', 'Tunnel connections that ended.', 'counter', () => [{labels: {}, value: this.tunnel.closed}])
    m('mezu_tunnel_connections_refused_total', 'Tunnel connections refused (bad certificate, unknown or revoked Warpgate, wrong ALPN).', 'counter', () => [{labels: {}, value: this.tunnel.refused}])
    m('mezu_warpgates_connected', 'Warpgates with at least one tunnel connection up.', 'gauge', () => [{labels: {}, value: this.byWarpgate().size}])
    m('mezu_warpgates_unhealthy', 'Connected Warpgates whose local service is reported unhealthy.', 'gauge', () => [{labels: {}, value: [...this.byWarpgate().values()].filter((l) => !l.every((s) => s.healthy)).length}])
    m('mezu_warpgate_connections', 'Tunnel connections up, per Warpgate id.', 'gauge', () => [...this.byWarpgate()].map(([id, l]) => ({labels: {warpgate: id}, value: l.length})))
    m('mezu_warpgate_healthy', '1 when a connected Warpgate reports its service healthy, else 0.', 'gauge', () => [...this.byWarpgate()].map(([id, l]) => ({labels: {warpgate: id}, value: l.every((s) => s.healthy) ? 1 : 0})))
    m('mezu_warpgate_health_changes_total', 'Health flips a Warpgate reported (healthy to unhealthy or back), per Warpgate id.', 'counter', () => [...this.healthChanges].map(([id, n]) => ({labels: {warpgate: id}, value: n})))
    const reported = (field: keyof NonNullable<TunnelSession['reported']>) => () => [...this.byWarpgate()].flatMap(([id, list]) => {
      const r = newestReport(list)
      return r ? [{labels: {warpgate: id}, value: r[field]}] : []
    })
    m('mezu_warpgate_requests_total', 'Requests a Warpgate served to its origin (its own count, reported over the tunnel).', 'counter', reported('requests'))
    m('mezu_warpgate_origin_errors_total', 'Requests that failed at the origin after it was reached (reported by the Warpgate).', 'counter', reported('originErrors'))
    m('mezu_warpgate_origin_connect_failures_total', 'Requests for which the Warpgate could not reach its origin (reported by the Warpgate).', 'counter', reported('originConnectFailures'))
    m('mezu_warpgate_reconnects_total', 'Tunnel reconnect attempts the Warpgate made (reported by the Warpgate).', 'counter', reported('reconnects'))
    m('mezu_warpgate_streams_open', 'Streams the Warpgate has in flight (reported by the Warpgate).', 'gauge', reported('streams'))

    m('mezu_config_version', 'Configuration version committed in the store.', 'gauge', () => (this.sources ? [{labels: {}, value: this.sources.storeConfigVersion()}] : []))
    m('mezu_edge_config_version', 'Configuration version the edge is current with (its snapshot\'s, or a later change that touched nothing it serves).', 'gauge', () => (this.sources ? [{labels: {}, value: this.sources.edgeConfigVersion()}] : []))
    m('mezu_config_feed_lag_seconds', 'How long the edge has been behind the store\'s configuration (0 when current).', 'gauge', () => (this.sources ? [{labels: {}, value: this.sources.configLagSeconds()}] : []))
  }

  /** Connects the scrape-time gauges to the running platform and counts tunnel connections. */
  attach(sources: MetricsSources): void {
    this.sources = sources
    sources.pool?.on('open', (s) => {
      this.tunnel.accepted++
      s.on('health', () => this.healthChanges.set(s.peer.warpgateId, (this.healthChanges.get(s.peer.warpgateId) ?? 0) + 1))
    })
    sources.pool?.on('close', () => this.tunnel.closed++)
  }

  /** A deleted route's series end (at the next scrape), so the label set stays the routes that exist. */
  private forgetDeletedRoutes(): void {
    if (!this.sources) return
    const live = new Set(this.sources.routes().map((r) => r.id))
    for (const id of this.byRoute.keys()) if (id !== ROUTE_NONE && id !== ROUTE_AUTH && !live.has(id)) this.byRoute.delete(id)
  }

  tunnelRefused(): void {
    this.tunnel.refused++
  }

  private sessions(): TunnelSession[] {
    return this.sources?.pool?.sessions() ?? []
  }

  private byWarpgate(): Map<string, TunnelSession[]> {
    const out = new Map<string, TunnelSession[]>()
    for (const s of this.sessions()) {
      const list = out.get(s.peer.warpgateId)
      if (list) list.push(s)
      else out.set(s.peer.warpgateId, [s])
    }
    return out
  }

  request(route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    let row = this.byRoute.get(route)
    if (!row) this.byRoute.set(route, (row = new Array<RequestSeries | undefined>(CLASSES.length)))
    const hundreds = (status / 100) | 0
    const c = hundreds >= 1 && hundreds <= 5 ? hundreds : 0
    const series = row[c] ?? (row[c] = new RequestSeries({route, class: CLASSES[c]}))
    series.observe(seconds, bytesIn, bytesOut)
  }

  rateLimited(scope: 'route' | 'auth' | 'login' | 'device-code' | 'device-start'): void {
    this.count('mezu_rate_limit_refusals_total', {scope})
  }

  denied(routeId: string, reason: string): void {
    this.count('mezu_policy_denials_total', {route: routeId, reason: bounded(reason)})
  }

  login(method: string, outcome: string): void {
    this.count('mezu_logins_total', {method: bounded(method), outcome: bounded(outcome)})
  }

  apiRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    let a = this.api.get(key)
    if (!a) {
      const labels = {method, route, status: String(status)}
      this.api.set(key, (a = {labels, count: 0, series: new RequestSeries(labels)}))
    }
    a.count++
    a.series.observe(seconds, 0, 0)
  }

  private count(name: string, labels: Record<string, string>): void {
    const map = this.counters.get(name)!
    const key = Object.values(labels).join('\0')
    const c = map.get(key)
    if (c) c.value++
    else map.set(key, {labels, value: 1})
  }

  /** The text exposition (Prometheus 0.0.4). */
  async metrics(): Promise<string> {
    await this.sources?.sample()
    return this.registry.metrics()
  }
}

function newestReport(list: TunnelSession[]): TunnelSession['reported'] {
  let best: TunnelSession['reported']
  for (const s of list) if (s.reported && (!best || s.reported.at > best.at)) best = s.reported
  return best
}
