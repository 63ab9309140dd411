import type {X509Certificate} from 'node:crypto'
import type {FastifyRequest} from 'fastify'
import type {Logger} from 'pino'
import type {AcmeCertificateStatus, Principal} from '../../src/lib/api-types/index.js'
import type {PlatformConfig} from '../config.js'
import type {RequestLog} from '../edge/request-log.js'
import type {ReadinessReport} from '../readiness.js'
import type {CaMaterial} from '../pki/ca.js'
import {appendAudit, type AuditInput} from '../store/config/audit.js'
import {bumpConfigVersion} from '../store/config/meta.js'
import type {StoreCtx} from '../store/config/projects.js'
import {transaction} from '../store/db.js'
import type {Stores} from '../store/stores.js'
import type {DeviceLogins} from './device-logins.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'
import type {LoginLimiter} from './login-limiter.js'
import {recordLogin} from '../store/identity/login-history.js'

/** Everything a route handler needs, built once by the composition root. */
export interface ControlContext {
  config: PlatformConfig
  stores: Stores
  /** identity.db with its cipher and hasher */
  idb: StoreCtx
  /** config.db with its cipher and hasher */
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
  /** The edge's request ring for `mezu logs`; absent when no edge runs in this process. */
  requestLog?: RequestLog
  /** ACME certificate status by hostname; absent when the platform runs without ACME. */
  acme?: {status(hostname: string): AcmeCertificateStatus | undefined}
  /** Counters for /metrics; absent unless a metrics listener was asked for. */
  metrics?: ControlMetrics
  /** /readyz: every readiness check of this platform; absent until the listeners are up. */
  readiness?: () => ReadinessReport
}

/** What the control plane counts (platform/metrics implements it). */
export interface ControlMetrics {
  login(method: string, outcome: string): void
  rateLimited(scope: 'login' | 'device-code' | 'device-start'): void
  apiRequest(method: string, route: string, status: number, seconds: number): void
}

/** Records a login in the user's history and counts it by method and outcome. */
export function noteLogin(ctx: ControlContext, userId: string | null, entry: Parameters<typeof recordLogin>[2]): void {
  recordLogin(ctx.idb, userId, entry)
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
 * Runs a change: the write and its audit entry commit together (config.db); when the change
 * touches configuration the edge serves, the version is bumped in the same transaction and the
 * feed event is published only after commit.
 */
export function change<T>(
  ctx: ControlContext,
  req: FastifyRequest,
  audit: {action: string; target: AuditInput['target']; details?: Record<string, unknown>},
  fn: () => T,
  feed?: {kind: string; id: (result: T) => string | null; action: ChangeEvent['action']},
): T {
  let event: ChangeEvent | undefined
  const result = transaction(ctx.cdb.db, (onCommit) => {
    const value = fn()
    const target = {...audit.target, id: audit.target.id ?? feed?.id(value) ?? null}
    appendAudit(ctx.cdb, {actor: actorOf(req), action: audit.action, target, ip: clientIp(req), details: audit.details})
    if (feed) {
      const version = bumpConfigVersion(ctx.cdb.db)
      event = {version, kind: feed.kind, id: feed.id(value), action: feed.action}
      onCommit(() => ctx.feed.publish(event!))
    }
    return value
  })
  return result
}
