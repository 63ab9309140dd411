import type {StoreCtx} from '../db.js'
import {userKeyOf} from './user-keys.js'

// The identity rows the edge snapshot is built from (platform/control/edge-build.ts reads them
// whole, a page at a time; platform/control/edge-delta.ts reads the few one change can affect).
// Only the store modules know the engine.

export async function allDirectoryRows(c: StoreCtx): Promise<Array<{id: string; parent_id: string | null; doc: Buffer}>> {
  return c.db.selectFrom('directories').select(['id', 'parent_id', 'doc']).execute()
}

/** Direct memberships, of everyone or of one user; ordered, so what is built from them does not depend on the plan. */
export async function membershipRows(c: StoreCtx, userId?: string): Promise<Array<{directory_id: string; user_id: string}>> {
  let q = c.db.selectFrom('memberships').select(['directory_id', 'user_id'])
  if (userId) q = q.where('user_id', '=', userId)
  return q.orderBy('user_id').orderBy('directory_id').execute()
}

/** The direct memberships of some users (a page of them), in the same order as membershipRows. */
export async function membershipRowsOfUsers(c: StoreCtx, userIds: readonly string[]): Promise<Array<{directory_id: string; user_id: string}>> {
  if (userIds.length === 0) return []
  return c.db.selectFrom('memberships').select(['directory_id', 'user_id']).where('user_id', 'in', userIds).orderBy('user_id').orderBy('directory_id').execute()
}

const SESSION_COLUMNS = ['id', 'user_id', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'revoked_at', 'doc'] as const

/** A session row as the edge snapshot needs it (the doc says which client it belongs to). */
export interface EdgeSessionRow {
  id: string
  user_id: string
  token_hash: Buffer
  created_at: number
  last_used_at: number
  expires_at: number
  revoked_at: number | null
  doc: Buffer
  /** the owner's sealed key, read in the same statement (sessionDoc opens the doc with it) */
  user_key: Buffer | null
}

/** Up to `limit` sessions live at `now` (not revoked, not expired) with ids after `afterId`, in id order: a full build reads them a page at a time. */
export async function liveSessionRowsPage(c: StoreCtx, now: number, afterId: string | undefined, limit: number): Promise<EdgeSessionRow[]> {
  let q = c.db.selectFrom('sessions').select(SESSION_COLUMNS).select(userKeyOf('sessions.user_id')).where('revoked_at', 'is', null).where('expires_at', '>', now)
  if (afterId !== undefined) q = q.where('id', '>', afterId)
  return q.orderBy('id').limit(limit).execute()
}

/** The live sessions of one user (a user's change may have revoked them all). */
export async function liveSessionRowsOfUser(c: StoreCtx, userId: string, now: number): Promise<EdgeSessionRow[]> {
  return c.db.selectFrom('sessions').select(SESSION_COLUMNS).select(userKeyOf('sessions.user_id')).where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
}

/** One session by id, whatever its state (the caller decides whether the edge keeps it). */
export async function sessionRowById(c: StoreCtx, id: string): Promise<EdgeSessionRow | undefined> {
  return c.db.selectFrom('sessions').select(SESSION_COLUMNS).select(userKeyOf('sessions.user_id')).where('id', '=', id).executeTakeFirst()
}

export interface EdgeApiKeyRow {
  id: string
  service_account_id: string
  key_hash: Buffer
  expires_at: number | null
  revoked_at: number | null
}

const KEY_COLUMNS = ['id', 'service_account_id', 'key_hash', 'expires_at', 'revoked_at'] as const

export async function apiKeyRows(c: StoreCtx): Promise<EdgeApiKeyRow[]> {
  return c.db.selectFrom('api_keys').select(KEY_COLUMNS).execute()
}

/** The keys of one service account, revoked and expired ones included (the edge answers 401 for them). */
export async function apiKeyRowsOfAccount(c: StoreCtx, accountId: string): Promise<EdgeApiKeyRow[]> {
  return c.db.selectFrom('api_keys').select(KEY_COLUMNS).where('service_account_id', '=', accountId).execute()
}
