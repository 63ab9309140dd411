import {EventEmitter} from 'node:events'
import {rootCertificates} from 'node:tls'
import {AssertionGate, AssertionVerifier, fetchJwks, jwksLocation} from './assertion.js'
import {TunnelConnection, type EndReason} from './connection.js'
import {WarpgateCounters} from './counters.js'
import {OriginProxy, type OriginRequestEvent, type StreamHandler} from './origin.js'
import {CertificateKeeper, type Clock, type Credentials, register, systemClock} from './registration.js'
import {pickTunnelUrl, Supervisor} from './supervisor.js'
import {MEZU_VERSION} from '../protocol/version.js'
import type {WarpgateCertificate} from '../lib/api-types/warpgates.js'
import {LOCAL_EDGE_ID, readTunnelEdges, type TunnelEdge} from '../protocol/tunnel.js'

/** The version a Warpgate reports to the edge. */
export const WARPGATE_VERSION: string = MEZU_VERSION

export interface WarpgateOptions {
  /** the control plane, to register and renew */
  apiUrl: string
  /** the pinned platform CA (for the API and for the edge) */
  caPem: string
  /** a one-time registration token, or credentials from an earlier registration */
  token?: string
  credentials?: Credentials
  /** the local service, e.g. http://127.0.0.1:3000 */
  originUrl: string
  /** tunnel connections to keep to each edge (default 2) */
  connections?: number
  /** the edges to start with, e.g. the list saved in the state file (default: the certificate's) */
  edges?: TunnelEdge[]
  /** how long in-flight requests may take on the connections of an edge that is dropped (default 30 s) */
  graceMs?: number
  /** reconnect backoff; see Supervisor */
  nextDelay?: (attempt: number) => number
  stableAfterMs?: number
  clock?: Clock
  /** verify every request's Mezu-Jwt-Assertion before it reaches the origin (`--require-assertion`) */
  requireAssertion?: boolean
  /** how often each connection reports the counters to the edge (default WARPGATE_STATS_INTERVAL_MS) */
  statsIntervalMs?: number
}

/**
 * The edges a register or renew answer names: its tunnelEdges, or, from a platform that predates
 * them (or sent a list that does not read), its addresses as the one edge they were then.
 */
export function tunnelEdgesOf(info: Pick<WarpgateCertificate, 'tunnelUrl' | 'tunnelUrls' | 'tunnelEdges'>): TunnelEdge[] {
  const read = info.tunnelEdges === undefined ? undefined : readTunnelEdges(info.tunnelEdges)
  if (read && 'edges' in read) return read.edges
  return [{edge: LOCAL_EDGE_ID, urls: info.tunnelUrls?.length ? [...info.tunnelUrls] : [info.tunnelUrl]}]
}

/** Everything a Warpgate reports, for `mezu tunnel`'s screen and its --json event lines. */
export type WarpgateEvent =
  | {type: 'registered'; warpgateId: string; service: string; expiresAt: string; edgeUrl: string; urls: string[]}
  | {type: 'connected'; connection: number; connections: number; edge?: string}
  | {type: 'disconnected'; connection: number; connections: number; reason: EndReason; edge?: string}
  | {type: 'reconnecting'; connection: number; inMs: number; edge?: string}
  /** the edge list changed (from an edge's `edges` message or a renewal): connections follow it */
  | {type: 'edges'; edges: TunnelEdge[]; added: string[]; removed: string[]; from: 'edge' | 'renewal'}
  /** an edge sent a list that does not read; the Warpgate keeps the one it has */
  | {type: 'edges-ignored'; reason: string}
  | {type: 'renewed'; expiresAt: string}
  | {type: 'renew-failed'; message: string}
  | {type: 'health'; healthy: boolean; reason?: string}
  | {type: 'assertion-keys-unavailable'; jwksUrl: string; message: string}
  | ({type: 'request'} & OriginRequestEvent)
  | {type: 'metrics'; url: string}
  | {type: 'draining'; graceMs: number}
  | {type: 'stopped'}

/**
 * The connector: registers (or reuses credentials), keeps its certificate renewed, keeps N tunnel
 * connections to each edge and proxies their streams to the local service.
 */
export class Warpgate extends EventEmitter<{event: [WarpgateEvent]}> {
  private keeper?: CertificateKeeper
  private supervisor?: Supervisor
  private readonly origin: OriginProxy
  /** requests, origin failures, reconnects: reported to the edge, and served by --metrics-addr */
  readonly counters = new WarpgateCounters(() => this.supervisor?.connections.reduce((n, c) => n + c.streamsInFlight, 0) ?? 0)
  private handler: StreamHandler
  private registered?: Promise<Credentials>
  private registeredAs?: Credentials
  private health: {healthy: boolean; reason?: string} = {healthy: true}
  private stopped = false
  /** Keeps the process alive while the Warpgate runs: every retry and probe timer is unref'd. */
  private alive?: NodeJS.Timeout

  constructor(private readonly opts: WarpgateOptions) {
    super()
    this.origin = new OriginProxy(opts.originUrl, (e) => this.report({type: 'request', ...e}))
    this.handler = this.origin
  }

  private report(e: WarpgateEvent): void {
    if (e.type === 'request') this.counters.request(e)
    else if (e.type === 'reconnecting') this.counters.reconnect()
    this.emit('event', e)
  }

  /** The credentials in use (after start). */
  get credentials(): Credentials | undefined {
    return this.keeper?.credentials
  }

  /**
   * The edges the connections are spread over: the latest list (from an edge, a renewal or the
   * state file); before start, the one it will start from.
   */
  get edges(): readonly TunnelEdge[] {
    if (this.supervisor) return this.supervisor.edges
    if (this.opts.edges?.length) return this.opts.edges
    const creds = this.keeper?.credentials ?? this.registeredAs
    return creds ? tunnelEdgesOf(creds.info) : []
  }

  /** Live tunnel connections. */
  get connectionCount(): number {
    return this.supervisor?.connections.length ?? 0
  }

  /**
   * Registers (once; later calls return the same credentials) without opening any connection, so
   * `mezu tunnel` can tell its service where the platform keys are before the edge sends it anything.
   */
  register(): Promise<Credentials> {
    this.registered ??= (async () => {
      let creds = this.opts.credentials
      if (!creds) {
        if (!this.opts.token) throw new Error('a Warpgate needs a registration token or credentials')
        creds = await register({apiUrl: this.opts.apiUrl, caPem: this.opts.caPem}, this.opts.token)
      }
      this.registeredAs = creds
      this.report({type: 'registered', warpgateId: creds.info.warpgateId, service: creds.info.service, expiresAt: creds.info.expiresAt, edgeUrl: creds.info.edgeUrl, urls: creds.info.urls ?? []})
      return creds
    })()
    return this.registered
  }

  /** Registers if needed, then starts the connections; resolves once registration is done. */
  async start(): Promise<Credentials> {
    const api = {apiUrl: this.opts.apiUrl, caPem: this.opts.caPem}
    const creds = await this.register()
    if (this.opts.requireAssertion) {
      const where = jwksLocation(creds.info.edgeUrl)
      // The edge may serve the operator's certificate (--tls-cert) rather than the platform CA's.
      const verifier = new AssertionVerifier({issuer: where.issuer, loadJwks: fetchJwks(where.jwksUrl, [...rootCertificates, creds.caPem], {connectTo: where.connectTo})})
      const failed = await verifier.warm()
      // Not fatal (the edge may come up later), but every request gets 503 until the keys arrive.
      if (failed) this.report({type: 'assertion-keys-unavailable', jwksUrl: where.jwksUrl, message: failed.message})
      this.handler = new AssertionGate(verifier, this.origin, (e) => this.report({type: 'request', ...e}))
    }
    const clock = this.opts.clock ?? systemClock
    // A connector's job is to come back: with every connection down and only an unref'd backoff
    // timer pending, Node would otherwise end the process (exit 13 from the awaiting entry point).
    this.alive ??= setInterval(() => {}, 1 << 30)
    this.keeper = new CertificateKeeper(creds, api, clock)
    this.keeper.on('renewed', (c) => {
      this.report({type: 'renewed', expiresAt: c.info.expiresAt})
      this.followEdges(tunnelEdgesOf(c.info), 'renewal')
    })
    this.keeper.on('renew-failed', (e) => this.report({type: 'renew-failed', message: e.message}))
    this.keeper.start()
    this.supervisor = new Supervisor({
      connections: this.opts.connections ?? 2,
      edges: this.opts.edges?.length ? this.opts.edges : tunnelEdgesOf(creds.info),
      nextDelay: this.opts.nextDelay,
      stableAfterMs: this.opts.stableAfterMs,
      retireGraceMs: this.opts.graceMs,
      clock,
      connect: (slot, attempt) => {
        const c = this.keeper!.credentials
        return new TunnelConnection({
          tunnelUrl: pickTunnelUrl(slot.urls, slot.index, attempt), caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem, handler: this.handler,
          hello: {version: WARPGATE_VERSION, service: c.info.service, connection: slot.connection},
          health: () => this.health,
          stats: () => this.counters.snapshot(), statsIntervalMs: this.opts.statsIntervalMs,
          onEdges: (edges) => this.followEdges(edges, 'edge'),
          onBadEdges: (reason) => this.report({type: 'edges-ignored', reason}),
        })
      },
      onEvent: (e) => {
        const connections = this.connectionCount
        const {connection, edge} = e
        if (e.type === 'connected') this.report({type: 'connected', connection, connections, edge})
        else if (e.type === 'disconnected') this.report({type: 'disconnected', connection, connections, reason: e.reason, edge})
        else this.report({type: 'reconnecting', connection, inMs: e.inMs, edge})
      },
    })
    this.supervisor.start()
    return creds
  }

  /**
   * Every connection brings the edge list on connect and on each change, so the same list arrives
   * several times: only a change is reported (and saved, by runTunnel).
   */
  private followEdges(edges: TunnelEdge[], from: 'edge' | 'renewal'): void {
    const change = this.supervisor?.setEdges(edges)
    if (change) this.report({type: 'edges', edges: this.supervisor!.edges.map((e) => ({edge: e.edge, urls: [...e.urls]})), ...change, from})
  }

  /** Reports the local service's health to the edge on every connection (health.ts plugs in here). */
  setHealth(healthy: boolean, reason?: string): void {
    if (healthy === this.health.healthy) return
    this.health = {healthy, reason}
    for (const c of this.supervisor?.connections ?? []) c.setHealth(healthy, reason)
    this.report({type: 'health', healthy, reason})
  }

  /**
   * Graceful stop: every connection tells the edge first (so it opens no new streams here),
   * in-flight requests finish within graceMs, then everything closes.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.stopped) return
    this.report({type: 'draining', graceMs})
    await this.supervisor?.drain(graceMs)
    this.finish()
  }

  /** Immediate stop: open requests fail. */
  async stop(): Promise<void> {
    if (this.stopped) return
    await this.supervisor?.stop()
    this.finish()
  }

  private finish(): void {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.alive)
    this.keeper?.stop()
    this.origin.close()
    this.report({type: 'stopped'})
  }
}
