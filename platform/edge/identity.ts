import {HEADER_SERVICE_TOKEN, SESSION_COOKIE} from '../../src/protocol/headers.js'
import type {ConfigSource, EdgeSnapshot} from './config-source.js'
import type {EdgeAuthority} from './edge-authority.js'
import type {ChangeEvents, EdgeChangeEvent, EdgeSession, EdgeUser} from './identity-snapshot.js'

/**
 * Who is calling: a browser session (cookie), a service account (Mezu-Service-Token) or nobody.
 * Sessions are checked against the snapshot plus an in-memory cache of sessions created at this
 * edge since the snapshot was built. Feed events about sessions, users and service accounts drop
 * what is cached and distrust the snapshot for them until a snapshot at least that new arrives,
 * so a revocation takes effect as soon as the event is delivered, whatever the snapshot lags.
 */
export type Caller =
  | {kind: 'anonymous'}
  | {kind: 'user'; user: EdgeUser; session: EdgeSession; token: string}
  | {kind: 'service'; accountId: string; accountName: string}
  /** a token was presented and is no good: 401 (expired, revoked, unknown) */
  | {kind: 'invalid'; credential: 'session' | 'service-token'; reason: 'unknown' | 'expired' | 'revoked' | 'idle'}

export interface SessionLimits {
  /** inactivity timeout */
  sessionIdleMs: number
}

/** How often session last-use times are written back (and the granularity of that record). */
const TOUCH_FLUSH_MS = 60_000

interface Cached {
  session: EdgeSession
  user: EdgeUser
}

export class EdgeIdentity {
  private readonly cache = new Map<string, Cached>()
  private readonly lastUsed = new Map<string, number>()
  /** id → config version after which the snapshot can be trusted again for it */
  private readonly distrusted = new Map<string, number>()
  private readonly unsubscribe: Array<() => void> = []
  /** session id → last use not yet written back */
  private readonly dirty = new Map<string, number>()
  /** session id → last use already queued for writing */
  private readonly written = new Map<string, number>()
  private readonly flushTimer: NodeJS.Timeout

  constructor(
    private readonly source: ConfigSource,
    private readonly authority: EdgeAuthority,
    events: ChangeEvents,
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe.push(events.subscribe((e) => this.onEvent(e)))
    this.unsubscribe.push(source.onChange((s) => this.onSnapshot(s)))
    this.flushTimer = setInterval(() => void this.flush(), TOUCH_FLUSH_MS)
    this.flushTimer.unref()
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u()
    clearInterval(this.flushTimer)
    void this.flush()
  }

  /** Writes last-use times back through the authority; a failure only costs precision of the idle timeout. */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return
    const entries = [...this.dirty].map(([id, at]) => ({id, at}))
    this.dirty.clear()
    await this.authority.touchSessions(entries).catch(() => undefined)
  }

  /** Identifies the caller from the request's headers. */
  identify(headers: Record<string, string | string[] | undefined>): Caller {
    const serviceToken = single(headers[HEADER_SERVICE_TOKEN.toLowerCase()])
    if (serviceToken !== undefined) return this.byServiceToken(serviceToken)
    const token = sessionCookie(headers.cookie)
    if (token === undefined) return {kind: 'anonymous'}
    return this.bySessionToken(token)
  }

  /** Resolves a session token (from the cookie, or the one a login just issued). */
  bySessionToken(token: string): Caller {
    const snap = this.source.get()
    const hash = this.authority.hashToken(token)
    const cached = this.cache.get(hash)
    const session = cached?.session ?? snap.identity.sessions.get(hash)
    if (!session || this.isDistrusted(snap, session.id)) return {kind: 'invalid', credential: 'session', reason: 'unknown'}
    const user = cached?.user ?? snap.identity.users.get(session.userId)
    if (!user || this.isDistrusted(snap, user.id) || user.status !== 'active') return {kind: 'invalid', credential: 'session', reason: 'revoked'}
    const now = this.now()
    if (session.expiresAtMs <= now) return {kind: 'invalid', credential: 'session', reason: 'expired'}
    const last = Math.max(this.lastUsed.get(session.id) ?? 0, session.lastUsedAtMs)
    if (now - last > this.limits.sessionIdleMs) return {kind: 'invalid', credential: 'session', reason: 'idle'}
    if (now - (this.written.get(session.id) ?? session.lastUsedAtMs) > TOUCH_FLUSH_MS) {
      this.dirty.set(session.id, now)
      this.written.set(session.id, now)
    }
    this.lastUsed.set(session.id, now)
    return {kind: 'user', user, session, token}
  }

  /** Remembers a session created at this edge until a snapshot carries it. */
  remember(tokenHash: string, session: EdgeSession, user: EdgeUser): void {
    this.cache.set(tokenHash, {session, user})
  }

  /** Forgets a session locally at once (logout), before the feed event arrives. */
  forget(token: string): void {
    const hash = this.authority.hashToken(token)
    const snap = this.source.get()
    const id = this.cache.get(hash)?.session.id ?? snap.identity.sessions.get(hash)?.id
    this.cache.delete(hash)
    if (id) this.distrusted.set(id, Number.POSITIVE_INFINITY)
  }

  private byServiceToken(token: string): Caller {
    const snap = this.source.get()
    const key = snap.identity.serviceKeys.get(this.authority.hashToken(token))
    if (!key) return {kind: 'invalid', credential: 'service-token', reason: 'unknown'}
    if (key.revokedAtMs !== null || this.isDistrusted(snap, key.accountId) || this.isDistrusted(snap, key.keyId)) return {kind: 'invalid', credential: 'service-token', reason: 'revoked'}
    if (key.expiresAtMs !== null && key.expiresAtMs <= this.now()) return {kind: 'invalid', credential: 'service-token', reason: 'expired'}
    return {kind: 'service', accountId: key.accountId, accountName: key.accountName}
  }

  private isDistrusted(snap: EdgeSnapshot, id: string): boolean {
    const until = this.distrusted.get(id)
    return until !== undefined && snap.version < until
  }

  private onEvent(e: EdgeChangeEvent): void {
    if (!e.id) return
    if (e.kind === 'session' && e.action !== 'created') {
      for (const [hash, c] of this.cache) if (c.session.id === e.id) this.cache.delete(hash)
      // a revoked session never comes back, whatever snapshot follows
      this.distrusted.set(e.id, Number.POSITIVE_INFINITY)
    } else if (e.kind === 'user' && e.action !== 'created') {
      for (const [hash, c] of this.cache) if (c.user.id === e.id) this.cache.delete(hash)
      this.distrusted.set(e.id, e.version)
    } else if ((e.kind === 'service-account' || e.kind === 'service_account' || e.kind === 'api-key') && e.action !== 'created') {
      this.distrusted.set(e.id, e.version)
    }
  }

  private onSnapshot(s: EdgeSnapshot): void {
    for (const [id, until] of this.distrusted) if (until !== Number.POSITIVE_INFINITY && s.version >= until) this.distrusted.delete(id)
    // cached sessions the snapshot now carries need no cache entry
    for (const [hash, c] of this.cache) if (s.identity.sessions.get(hash)?.id === c.session.id) this.cache.delete(hash)
    if (this.lastUsed.size > 100_000) this.lastUsed.clear()
    if (this.written.size > 100_000) this.written.clear()
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** The edge's session token from a Cookie header, if present. */
export function sessionCookie(cookie: string | string[] | undefined): string | undefined {
  const all = Array.isArray(cookie) ? cookie.join('; ') : cookie
  if (!all) return undefined
  for (const part of all.split(';')) {
    const eq = part.indexOf('=')
    if (eq === -1) continue
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim()
  }
  return undefined
}
