import type {SessionInfo} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import {changed, type StoreCtx} from '../db.js'
import type {SessionsTable} from '../schema.js'
import {openPersonal, sealPersonal, userKeyOf} from './user-keys.js'

/** A sessions row with its user's sealed key (the doc is sealed with it: see user-keys.ts). */
type Row = SessionsTable & {user_key: Buffer | null}
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

/** Every sessions column and the user's sealed key, in one statement. */
const selectSessions = (c: StoreCtx) => c.db.selectFrom(T).selectAll().select(userKeyOf('sessions.user_id'))

/** The doc of a session row read with its user's key (the edge snapshot reads `client`). */
export const sessionDoc = (c: StoreCtx, r: Pick<Row, 'id' | 'user_id' | 'doc' | 'user_key'>): Doc => openPersonal<Doc>(c, T, r.user_id, r)

function toSession(c: StoreCtx, r: Row): SessionRecord {
  const d = sessionDoc(c, r)
  return {
    id: r.id, userId: r.user_id, ip: d.ip, userAgent: d.userAgent, client: d.client,
    createdAt: new Date(r.created_at).toISOString(), lastUsedAt: new Date(r.last_used_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(), revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
    expiresAtMs: r.expires_at, lastUsedAtMs: r.last_used_at, revokedAtMs: r.revoked_at,
  }
}

/** Creates a session and returns its token, which is shown once and stored only as a keyed hash. */
export async function createSession(c: StoreCtx, userId: string, meta: Doc, maxAgeMs: number): Promise<{token: string; session: SessionRecord}> {
  const id = newId('session')
  const token = newToken('session')
  const now = Date.now()
  await c.db.insertInto(T).values({
    id, user_id: userId, token_hash: c.hasher.tokenHash(token), created_at: now, last_used_at: now, expires_at: now + maxAgeMs, doc: await sealPersonal(c, T, id, userId, meta),
  }).execute()
  return {token, session: (await getSession(c, id))!}
}

export async function getSession(c: StoreCtx, id: string): Promise<SessionRecord | undefined> {
  const r = await selectSessions(c).where('id', '=', id).executeTakeFirst()
  return r && toSession(c, r)
}

/** Finds a session by its token; the hash is compared again in constant time. */
export async function findSessionByToken(c: StoreCtx, token: string): Promise<SessionRecord | undefined> {
  const hash = c.hasher.tokenHash(token)
  const r = await selectSessions(c).where('token_hash', '=', hash).executeTakeFirst()
  if (!r || !c.hasher.tokenMatches(token, r.token_hash)) return undefined
  return toSession(c, r)
}

export async function touchSession(c: StoreCtx, id: string, at = Date.now()): Promise<void> {
  await c.db.updateTable(T).set({last_used_at: at}).where('id', '=', id).execute()
}

export async function revokeSession(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.updateTable(T).set({revoked_at: Date.now()}).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()) > 0
}

export async function revokeSessionsOfUser(c: StoreCtx, userId: string): Promise<string[]> {
  const ids = (await c.db.selectFrom(T).select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()).map((r) => r.id)
  await c.db.updateTable(T).set({revoked_at: Date.now()}).where('user_id', '=', userId).where('revoked_at', 'is', null).execute()
  return ids
}

export async function listSessions(c: StoreCtx, filter: {userId?: string; activeOnly?: boolean} = {}): Promise<SessionRecord[]> {
  let q = selectSessions(c)
  if (filter.userId) q = q.where('user_id', '=', filter.userId)
  if (filter.activeOnly) q = q.where('revoked_at', 'is', null).where('expires_at', '>', Date.now())
  return (await q.orderBy('created_at', 'desc').execute()).map((r) => toSession(c, r))
}

/** Removes sessions that ended long ago, so the table does not grow without bound. */
export async function pruneSessions(c: StoreCtx, olderThanMs: number): Promise<number> {
  const cutoff = Date.now() - olderThanMs
  return changed(await c.db.deleteFrom(T).where((eb) => eb.or([eb('expires_at', '<', cutoff), eb.and([eb('revoked_at', 'is not', null), eb('revoked_at', '<', cutoff)])])).executeTakeFirst())
}
