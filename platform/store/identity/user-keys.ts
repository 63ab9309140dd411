import {type AliasedRawBuilder, sql} from 'kysely'
import {CryptoError, sealedWithUserKey, USER_KEYS_TABLE, type UserCipher} from '../crypto.js'
import {changed, type StoreCtx, transaction} from '../db.js'

/**
 * Crypto-shredding (issue 11). Each user's personal docs (users, sessions, login_history) are
 * sealed with a random data key of their own, stored in user_keys sealed with the master key.
 * Erasure deletes that key in the transaction that deletes the rows, so the copies of the rows a
 * DELETE cannot reach (PostgreSQL dead tuples, WAL, replicas, later backups) are sealed with a key
 * the store no longer holds. Old copies of the key row itself are sealed with the master key: only
 * a master-key rotation that destroys the old key reaches those (see erasure.ts). Docs sealed
 * before this existed say so in their header and open with the master key.
 */
const T = USER_KEYS_TABLE

/** The tables whose docs are personal: sealed with their user's key. */
export type PersonalTable = 'users' | 'sessions' | 'login_history'

/** A personal row as read: its doc and its owner's sealed key, from the same statement. */
export interface PersonalRow {
  id: string
  doc: Buffer
  user_key: Buffer | null
}

/**
 * The owner's sealed key as a column of the row's own query. One statement is one snapshot, so a
 * row is never read without its key because an erasure committed between two queries, and a
 * list (the edge snapshot reads every user and session) costs no query per row.
 */
export function userKeyOf(owner: 'users.id' | 'sessions.user_id' | 'login_history.user_id'): AliasedRawBuilder<Buffer | null, 'user_key'> {
  return sql<Buffer | null>`(SELECT k.doc FROM user_keys k WHERE k.user_id = ${sql.ref(owner)})`.as('user_key')
}

/** The user's cipher, from the cache or unwrapped from the sealed key read with their row. */
export function userCipherOf(c: StoreCtx, userId: string, sealedKey: Buffer | null): UserCipher | undefined {
  const cached = c.userCiphers.get(userId)
  if (cached || !sealedKey) return cached
  const cipher = c.cipher.openUserKey(userId, sealedKey)
  // a key created by a transaction that rolls back must never reach the cache
  c.handle.afterCommit(() => c.userCiphers.set(userId, cipher))
  return cipher
}

/** Opens a personal doc: with its user's key, or with the master key when it predates user keys. */
export function openPersonal<T>(c: StoreCtx, table: PersonalTable, userId: string | null, row: PersonalRow): T {
  if (!sealedWithUserKey(row.doc)) return c.cipher.openJson<T>(table, row.id, row.doc)
  const cipher = userId === null ? undefined : userCipherOf(c, userId, row.user_key)
  if (!cipher) throw new CryptoError(`${table}.doc of ${row.id} is sealed with a user key that no longer exists`)
  return cipher.openJson<T>(table, row.id, row.doc)
}

/**
 * Seals a personal doc with its user's key (loaded or, for a user still without one, created).
 * `userId` null is a doc that names no user (a failed login for an unknown email): master key.
 */
export async function sealPersonal(c: StoreCtx, table: PersonalTable, rowId: string, userId: string | null, value: unknown): Promise<Buffer> {
  if (userId === null) return c.cipher.sealJson(table, rowId, value)
  return (await userCipherForWrite(c, userId)).sealJson(table, rowId, value)
}

/** The user's cipher, or undefined when they have no key (erased, or not upgraded yet). */
export async function loadUserCipher(c: StoreCtx, userId: string): Promise<UserCipher | undefined> {
  const cached = c.userCiphers.get(userId)
  if (cached) return cached
  const row = await c.db.selectFrom(T).select('doc').where('user_id', '=', userId).executeTakeFirst()
  return row && userCipherOf(c, userId, row.doc)
}

/** A new key for a user; call it in the transaction that writes their row. */
export async function createUserKey(c: StoreCtx, userId: string, now = Date.now()): Promise<UserCipher> {
  const {cipher, sealed} = c.cipher.newUserKey(userId)
  await c.db.insertInto(T).values({user_id: userId, created_at: now, doc: sealed}).execute()
  c.handle.afterCommit(() => c.userCiphers.set(userId, cipher))
  return cipher
}

/**
 * The cipher new docs of this user are sealed with. A user without a key (one the upgrade on open
 * has not seen: written meanwhile by an older control plane) gets one now, and their older docs
 * are re-sealed with it in the same transaction.
 */
async function userCipherForWrite(c: StoreCtx, userId: string): Promise<UserCipher> {
  const cached = c.userCiphers.get(userId)
  if (cached) return cached
  // a transaction, so two writers cannot both create a key for the same user
  return transaction(c, async () => {
    const existing = await loadUserCipher(c, userId)
    if (existing) return existing
    if (!(await c.db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst())) {
      throw new CryptoError(`no user ${userId}: there is no key to seal their data with`)
    }
    const cipher = await createUserKey(c, userId)
    await resealLegacyDocs(c, userId, cipher)
    return cipher
  })
}

/**
 * Deletes a user's key, so no doc sealed with it opens with anything the store holds. Call it in
 * the erasure transaction; the cached key is wiped once that commits.
 */
export async function destroyUserKey(c: StoreCtx, userId: string): Promise<boolean> {
  const n = changed(await c.db.deleteFrom(T).where('user_id', '=', userId).executeTakeFirst())
  c.handle.afterCommit(() => c.userCiphers.destroy(userId))
  return n > 0
}

/**
 * The one-time upgrade of a store written before user keys, run on every open: each user
 * without a key gets one and their master-sealed personal docs are re-sealed with it, all in
 * one transaction. Idempotent: users with a key are skipped (personal docs of a user with a key
 * are never sealed with the master key), so once done it costs one query.
 */
export async function upgradeToUserKeys(c: StoreCtx): Promise<{users: number; docs: number}> {
  const keyless = async () => (await c.db.selectFrom('users').select('id').where(sql<boolean>`NOT EXISTS (SELECT 1 FROM user_keys k WHERE k.user_id = users.id)`).execute()).map((r) => r.id)
  if ((await keyless()).length === 0) return {users: 0, docs: 0}
  return transaction(c, async () => {
    // again inside the transaction: another control plane may have upgraded meanwhile
    const users = await keyless()
    let docs = 0
    for (const userId of users) docs += await resealLegacyDocs(c, userId, await createUserKey(c, userId))
    return {users: users.length, docs}
  })
}

/** Re-seals one user's master-sealed personal docs with their key; returns how many. */
async function resealLegacyDocs(c: StoreCtx, userId: string, cipher: UserCipher): Promise<number> {
  const rows: Array<{table: PersonalTable; id: string; doc: Buffer}> = [
    ...(await c.db.selectFrom('users').select(['id', 'doc']).where('id', '=', userId).execute()).map((r) => ({table: 'users' as const, ...r})),
    ...(await c.db.selectFrom('sessions').select(['id', 'doc']).where('user_id', '=', userId).execute()).map((r) => ({table: 'sessions' as const, ...r})),
    ...(await c.db.selectFrom('login_history').select(['id', 'doc']).where('user_id', '=', userId).execute()).map((r) => ({table: 'login_history' as const, ...r})),
  ]
  let n = 0
  for (const r of rows) {
    if (sealedWithUserKey(r.doc)) continue
    const doc = cipher.seal(r.table, 'doc', r.id, c.cipher.openBytes(r.table, 'doc', r.id, r.doc))
    // one table type stands for the three: each has id and doc
    await c.db.updateTable(r.table as 'users').set({doc}).where('id', '=', r.id).execute()
    n++
  }
  return n
}
