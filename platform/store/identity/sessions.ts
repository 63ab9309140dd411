import type {SessionInfo} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import type {StoreCtx} from '../config/projects.js'

interface Row {
  id: string
  user_id: string
  token_hash: Buffer
  created_at: number
  last_used_at: number
  expires_at: number
  revoked_at: number | null
  doc: Buffer
}
interface Doc {
  ip: string | null
  userAgent: string | null
  client: string
}
const T = 'sessions'

export interface SessionRecord extends SessionInfo {
  /** absolute expiry in ms */
  expiresAtMs: number
  lastUsedAtMs: number
  revokedAtMs: number | null
}

function toSession(c: StoreCtx, r: Row): SessionRecord {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  return {
    id: r.id, userId: r.user_id, ip: d.ip, userAgent: d.userAgent, client: d.client,
    createdAt: new Date(r.created_at).toISOString(), lastUsedAt: new Date(r.last_used_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(), revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
    expiresAtMs: r.expires_at, lastUsedAtMs: r.last_used_at, revokedAtMs: r.revoked_at,
  }
}

/** Creates a session and returns its token, which is shown once and stored only as a keyed hash. */
export function createSession(c: StoreCtx, userId: string, meta: Doc, maxAgeMs: number): {token: string; session: SessionRecord} {
  const id = newId('session')
  const token = newToken('session')
  const now = Date.now()
  c.db.prepare(`INSERT INTO ${T} (id, user_id, token_hash, created_at, last_used_at, expires_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    id, userId, c.hasher.tokenHash(token), now, now, now + maxAgeMs, c.cipher.sealJson(T, id, meta),
  )
  return {token, session: getSession(c, id)!}
}

export function getSession(c: StoreCtx, id: string): SessionRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toSession(c, r)
}

/** Finds a session by its token; the hash is compared again in constant time. */
export function findSessionByToken(c: StoreCtx, token: string): SessionRecord | undefined {
  const hash = c.hasher.tokenHash(token)
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE token_hash = ?`).get(hash) as Row | undefined
  if (!r || !c.hasher.tokenMatches(token, r.token_hash)) return undefined
  return toSession(c, r)
}

export function touchSession(c: StoreCtx, id: string, at = Date.now()): void {
  c.db.prepare(`UPDATE ${T} SET last_used_at = ? WHERE id = ?`).run(at, id)
}

export function revokeSession(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`UPDATE ${T} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`).run(Date.now(), id).changes > 0
}

export function revokeSessionsOfUser(c: StoreCtx, userId: string): string[] {
  const ids = (c.db.prepare(`SELECT id FROM ${T} WHERE user_id = ? AND revoked_at IS NULL`).all(userId) as Array<{id: string}>).map((r) => r.id)
  c.db.prepare(`UPDATE ${T} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`).run(Date.now(), userId)
  return ids
}

export function listSessions(c: StoreCtx, filter: {userId?: string; activeOnly?: boolean} = {}): SessionRecord[] {
  const where: string[] = []
  const params: unknown[] = []
  if (filter.userId) {
    where.push('user_id = ?')
    params.push(filter.userId)
  }
  if (filter.activeOnly) {
    where.push('revoked_at IS NULL AND expires_at > ?')
    params.push(Date.now())
  }
  const sql = `SELECT * FROM ${T} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC`
  return (c.db.prepare(sql).all(...params) as Row[]).map((r) => toSession(c, r))
}

/** Removes sessions that ended long ago, so the table does not grow without bound. */
export function pruneSessions(c: StoreCtx, olderThanMs: number): number {
  const cutoff = Date.now() - olderThanMs
  return c.db.prepare(`DELETE FROM ${T} WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)`).run(cutoff, cutoff).changes
}
