import {readFileSync} from 'node:fs'
import {EventEmitter} from 'node:events'
import {rootCertificates} from 'node:tls'
import {AssertionGate, AssertionVerifier, fetchJwks, jwksLocation} from './assertion.js'
import {TunnelConnection, type EndReason} from './connection.js'
import {WarpgateCounters} from './counters.js'
import {OriginProxy, type OriginRequestEvent, type StreamHandler} from './origin.js'
import {CertificateKeeper, type Clock, type Credentials, register, systemClock} from './registration.js'
import {Supervisor} from './supervisor.js'
import type {WarpgateCertificate} from '../lib/api-types/warpgates.js'

/** The version a Warpgate reports to the edge. */
export const WARPGATE_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    return 'unknown'
  }
})()

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
  /** tunnel connections to keep (default 2) */
  connections?: number
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
 * The edge address for connection slot `index`: slots are spread over every advertised address,
 * and each failed attempt moves the slot on to the next one, so an unreachable address is left.
 */
export function pickTunnelUrl(info: Pick<WarpgateCertificate, 'tunnelUrl' | 'tunnelUrls'>, index: number, attempt: number): string {
  const urls = info.tunnelUrls?.length ? info.tunnelUrls : [info.tunnelUrl]
  return urls[(index + attempt) % urls.length]
}

/** Everything a Warpgate reports, for `mezu tunnel`'s screen and its --json event lines. */
export type WarpgateEvent =
  | {type: 'registered'; warpgateId: string; service: string; expiresAt: string; edgeUrl: string; urls: string[]}
  | {type: 'connected'; connection: number; connections: number}
  | {type: 'disconnected'; connection: number; connections: number; reason: EndReason}
  | {type: 'reconnecting'; connection: number; inMs: number}
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
 * connections to the edge and proxies their streams to the local service.
 */
export class Warpgate extends EventEmitter<{event: [WarpgateEvent]}> {
  private keeper?: CertificateKeeper
  private supervisor?: Supervisor
  private readonly origin: OriginProxy
  /** requests, origin failures, reconnects: reported to the edge, and served by --metrics-addr */
  readonly counters = new WarpgateCounters(() => this.supervisor?.connections.reduce((n, c) => n + c.streamsInFlight, 0) ?? 0)
  private handler: StreamHandler
  private registered?: Promise<Credentials>
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
    this.keeper.on('renewed', (c) => this.report({type: 'renewed', expiresAt: c.info.expiresAt}))
    this.keeper.on('renew-failed', (e) => this.report({type: 'renew-failed', message: e.message}))
    this.keeper.start()
    const n = this.opts.connections ?? 2
    this.supervisor = new Supervisor({
      connections: n,
      nextDelay: this.opts.nextDelay,
      stableAfterMs: this.opts.stableAfterMs,
      clock,
      connect: (index, attempt) => {
        const c = this.keeper!.credentials
        return new TunnelConnection({
          tunnelUrl: pickTunnelUrl(c.info, index, attempt), caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem, handler: this.handler,
          hello: {version: WARPGATE_VERSION, service: c.info.service, connection: index},
          health: () => this.health,
          stats: () => this.counters.snapshot(), statsIntervalMs: this.opts.statsIntervalMs,
        })
      },
      onEvent: (e) => {
        const connections = this.connectionCount
        if (e.type === 'connected') this.report({type: 'connected', connection: e.connection, connections})
        else if (e.type === 'disconnected') this.report({type: 'disconnected', connection: e.connection, connections, reason: e.reason})
        else this.report({type: 'reconnecting', connection: e.connection, inMs: e.inMs})
      },
    })
    this.supervisor.start()
    return creds
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
