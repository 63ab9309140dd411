import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import {changed, type StoreCtx} from '../db.js'
import type {InvitesTable} from '../schema.js'

type Row = InvitesTable
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
export async function createInvite(c: StoreCtx, userId: string, ttlMs: number, now = Date.now()): Promise<{code: string; invite: InviteRecord}> {
  const id = newId('invite')
  const code = newToken('invite')
  await c.db.updateTable(T).set({expires_at: now}).where('user_id', '=', userId).where('used_at', 'is', null).where('expires_at', '>', now).execute()
  await c.db.insertInto(T).values({id, user_id: userId, code_hash: c.hasher.tokenHash(code), created_at: now, expires_at: now + ttlMs}).execute()
  return {code, invite: {id, userId, createdAt: now, expiresAt: now + ttlMs, usedAt: null}}
}

export type InviteCheck = {ok: true; invite: InviteRecord} | {ok: false; reason: 'unknown' | 'used' | 'expired'}

/** Looks a code up by its hash (compared again in constant time); used and expired are told apart. */
export async function checkInvite(c: StoreCtx, code: string, now = Date.now()): Promise<InviteCheck> {
  const r = await c.db.selectFrom(T).selectAll().where('code_hash', '=', c.hasher.tokenHash(code)).executeTakeFirst()
  if (!r || !c.hasher.tokenMatches(code, r.code_hash)) return {ok: false, reason: 'unknown'}
  if (r.used_at !== null) return {ok: false, reason: 'used'}
  if (r.expires_at <= now) return {ok: false, reason: 'expired'}
  return {ok: true, invite: toInvite(r)}
}

/** Marks a code used; false when another request used it first (single use under concurrency). */
export async function markInviteUsed(c: StoreCtx, id: string, now = Date.now()): Promise<boolean> {
  return changed(await c.db.updateTable(T).set({used_at: now}).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst()) > 0
}

export async function invitesOfUser(c: StoreCtx, userId: string): Promise<InviteRecord[]> {
  return (await c.db.selectFrom(T).selectAll().where('user_id', '=', userId).orderBy('created_at').execute()).map(toInvite)
}
