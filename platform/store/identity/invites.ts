import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import type {StoreCtx} from '../config/projects.js'

interface Row {
  id: string
  user_id: string
  code_hash: Buffer
  created_at: number
  expires_at: number
  used_at: number | null
}
const T = 'invites'

export interface InviteRecord {
  id: string
  userId: string
  createdAt: number
  expiresAt: number
  usedAt: number | null
}

const toInvite = (r: Row): InviteRecord => ({id: r.id, userId: r.user_id, createdAt: r.created_at, expiresAt: r.expires_at, usedAt: r.used_at})

/**
 * Issues a one-time invitation code for a user. The code is returned once and stored only as a
 * keyed hash; earlier unused codes of the user stop working, so only the latest one is valid.
 */
export function createInvite(c: StoreCtx, userId: string, ttlMs: number, now = Date.now()): {code: string; invite: InviteRecord} {
  const id = newId('invite')
  const code = newToken('invite')
  c.db.prepare(`UPDATE ${T} SET expires_at = ? WHERE user_id = ? AND used_at IS NULL AND expires_at > ?`).run(now, userId, now)
  c.db.prepare(`INSERT INTO ${T} (id, user_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`).run(id, userId, c.hasher.tokenHash(code), now, now + ttlMs)
  return {code, invite: {id, userId, createdAt: now, expiresAt: now + ttlMs, usedAt: null}}
}

export type InviteCheck = {ok: true; invite: InviteRecord} | {ok: false; reason: 'unknown' | 'used' | 'expired'}

/** Looks a code up by its hash (compared again in constant time); used and expired are told apart. */
export function checkInvite(c: StoreCtx, code: string, now = Date.now()): InviteCheck {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE code_hash = ?`).get(c.hasher.tokenHash(code)) as Row | undefined
  if (!r || !c.hasher.tokenMatches(code, r.code_hash)) return {ok: false, reason: 'unknown'}
  if (r.used_at !== null) return {ok: false, reason: 'used'}
  if (r.expires_at <= now) return {ok: false, reason: 'expired'}
  return {ok: true, invite: toInvite(r)}
}

/** Marks a code used; false when another request used it first (single use under concurrency). */
export function markInviteUsed(c: StoreCtx, id: string, now = Date.now()): boolean {
  return c.db.prepare(`UPDATE ${T} SET used_at = ? WHERE id = ? AND used_at IS NULL`).run(now, id).changes > 0
}

export function invitesOfUser(c: StoreCtx, userId: string): InviteRecord[] {
  return (c.db.prepare(`SELECT * FROM ${T} WHERE user_id = ? ORDER BY created_at`).all(userId) as Row[]).map(toInvite)
}
