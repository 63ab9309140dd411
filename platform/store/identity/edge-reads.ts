import type {StoreCtx} from '../db.js'
import {userKeyOf} from './user-keys.js'

// The identity rows the edge snapshot is built from, read whole (platform/control/edge-identity.ts
// turns them into the snapshot). Only the store modules know the engine.

export async function allDirectoryRows(c: StoreCtx): Promise<Array<{id: string; parent_id: string | null; doc: Buffer}>> {
  return c.db.selectFrom('directories').select(['id', 'parent_id', 'doc']).execute()
}

export async function membershipRows(c: StoreCtx, userId?: string): Promise<Array<{directory_id: string; user_id: string}>> {
  let q = c.db.selectFrom('memberships').select(['directory_id', 'user_id'])
  if (userId) q = q.where('user_id', '=', userId)
  return q.execute()
}

/** Sessions not revoked and not expired at `now`, with their token hashes and their users' sealed keys (sessionDoc opens them). */
export async function liveSessionRows(c: StoreCtx, now: number) {
  return c.db.selectFrom('sessions').select(['id', 'user_id', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'doc']).select(userKeyOf('sessions.user_id')).where('revoked_at', 'is', null).where('expires_at', '>', now).execute()
}

export async function apiKeyRows(c: StoreCtx) {
  return c.db.selectFrom('api_keys').select(['id', 'service_account_id', 'key_hash', 'expires_at', 'revoked_at']).execute()
}
