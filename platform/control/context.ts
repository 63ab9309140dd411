import type {X509Certificate} from 'node:crypto'
import type {FastifyRequest} from 'fastify'
import type {Logger} from 'pino'
import type {AcmeCertificateStatus, Principal} from '../../src/lib/api-types/index.js'
import type {PlatformConfig} from '../config.js'
import type {RequestLog} from '../edge/request-log.js'
import type {TunnelDirectory} from '../edge/tunnel/directory.js'
import type {ReadinessReport} from '../readiness.js'
import type {CaMaterial} from '../pki/ca.js'
import {appendAudit, type AuditInput} from '../store/config/audit.js'
import {recordChange} from '../store/config/meta.js'
import type {StoreCtx} from '../store/config/projects.js'
import {type OnCommit, transaction} from '../store/db.js'
import type {Stores} from '../store/stores.js'
import type {DeviceLogins} from './device-logins.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'
import type {LoginLimiter} from './login-limiter.js'
import {recordLogin} from '../store/identity/login-history.js'

/** Everything a route handler needs, built once by the composition root. */
export interface ControlContext {
  config: PlatformConfig
  stores: Stores
  /** the identity store's queries (the same handle as cdb: one connection or pool serves both stores) */
  idb: StoreCtx
  /** the configuration store's queries */
  cdb: StoreCtx
  ca: CaMaterial
  feed: ChangeFeed
  /** failed passwords, per account and client address */
  passwordLimiter: LoginLimiter
  /** wrong web-login user codes, per person and client address, with the same limits */
  codeLimiter: LoginLimiter
  /** pending `mezu login --web` logins (in memory: see device-logins.ts) */
  deviceLogins: DeviceLogins
  log: Logger
  /** Public URLs, known once the listeners are bound. */
  urls: {api: string; edge: string; tunnel: string; tunnels: string[]}
  /** The certificate the edge serves end users right now (private CA or the operator's files). */
  edgeCertificate?: () => {leaf: X509Certificate; source: string}
  /** Live Warpgate connections as the edge's pool sees them (set once the edge runs). */
  warpgatesLive?: WarpgateLiveView
  /** Live state of remote edge nodes (their control connections); absent when none can connect. */
  edgesLive?: EdgesLiveView
  /** Every edge's tunnel addresses, handed to Warpgates at registration and renewal; absent: the in-process edge's urls.tunnels. */
  tunnelDirectory?: TunnelDirectory
  /** The edge's request ring for `mezu logs`; absent when no edge runs in this process. */
  requestLog?: RequestLog
  /** ACME certificate status by hostname; absent when the platform runs without ACME. */
  acme?: {status(hostname: string): AcmeCertificateStatus | undefined}
  /** Counters for /metrics; absent unless a metrics listener was asked for. */
  metrics?: ControlMetrics
  /** /readyz: every readiness check of this platform; absent until the listeners are up. */
  readiness?: () => Promise<ReadinessReport>
}

/** What the control plane counts (platform/metrics implements it). */
export interface ControlMetrics {
  login(method: string, outcome: string): void
  rateLimited(scope: 'login' | 'device-code' | 'device-start'): void
  apiRequest(method: string, route: string, status: number, seconds: number): void
}

/** Records a login in the user's history and counts it by method and outcome. */
export async function noteLogin(ctx: ControlContext, userId: string | null, entry: Parameters<typeof recordLogin>[2]): Promise<void> {
  await recordLogin(ctx.idb, userId, entry)
  ctx.metrics?.login(entry.method, entry.result)
}

/** What the edge knows about one Warpgate's live connections. */
export interface WarpgateLive {
  connections: number
  healthy: boolean
  remoteIps: string[]
  version: string | null
  connectedSince: number | null
}

/** What the control plane knows live about one remote edge's control connection. */
export interface EdgeLive {
  connectedSince: number
  address: string
  version: string | null
  configVersion: number
  warpgateConnections: number
}

export interface EdgesLiveView {
  live(edgeId: string): EdgeLive | undefined
}

export interface WarpgateLiveView {
  live(warpgateId: string): WarpgateLive | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

export function clientIp(req: FastifyRequest): string {
  return req.socket.remoteAddress ?? req.ip
}

export function actorOf(req: FastifyRequest): AuditInput['actor'] {
  const p = req.principal
  if (!p) return {kind: 'anonymous', id: null, name: null}
  return {kind: p.kind, id: p.id, name: p.name}
}

/**
 * Runs a change: the write and its audit entry commit together; when the change touches
 * configuration the edge serves, the version is bumped in the same transaction and the feed event
 * is published only after commit (and the edge has applied it before this resolves).
 */
export async function change<T>(
  ctx: ControlContext,
  req: FastifyRequest,
  audit: {action: string; target: AuditInput['target']; details?: Record<string, unknown>},
  fn: () => Promise<T> | T,
  feed?: {kind: string; id: (result: T) => string | null; action: ChangeEvent['action']},
): Promise<T> {
  return transaction(ctx.cdb, async (onCommit) => {
    const value = await fn()
    const target = {...audit.target, id: audit.target.id ?? feed?.id(value) ?? null}
    await appendAudit(ctx.cdb, {actor: actorOf(req), action: audit.action, target, ip: clientIp(req), details: audit.details})
    if (feed) await announce(ctx, onCommit, {kind: feed.kind, id: feed.id(value), action: feed.action})
    return value
  })
}

/**
 * Inside a transaction: bumps the configuration version, tells other control planes (PostgreSQL)
 * and publishes the event to this process's feed once the transaction has committed.
 */
export async function announce(ctx: Pick<ControlContext, 'cdb' | 'feed'>, onCommit: OnCommit, change: Omit<ChangeEvent, 'version'>): Promise<ChangeEvent> {
  const event: ChangeEvent = {version: await recordChange(ctx.cdb, change, ctx.feed.origin), ...change}
  onCommit(() => ctx.feed.publish(event))
  return event
}
