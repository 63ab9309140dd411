import type {ServiceAccount} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import {changed, type StoreCtx} from '../db.js'
import {normaliseName} from '../names.js'
import type {ServiceAccountsTable} from '../schema.js'

type Row = ServiceAccountsTable
interface Doc {
  name: string
  description: string
  scopes: string[]
  createdBy: string | null
}
const T = 'service_accounts'
const K = 'api_keys'

export interface ServiceAccountRecord extends ServiceAccount {
  expiresAtMs: number | null
  revokedAtMs: number | null
}

function toAccount(c: StoreCtx, r: Row, now = Date.now()): ServiceAccountRecord {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  const status = r.revoked_at ? 'revoked' : r.expires_at !== null && r.expires_at <= now ? 'expired' : 'active'
  return {
    id: r.id, name: d.name, description: d.description, scopes: d.scopes, projectId: r.project_id, status,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
    expiresAtMs: r.expires_at, revokedAtMs: r.revoked_at,
  }
}

export const accountNameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('service_accounts.name', normaliseName(name))

export async function createServiceAccount(
  c: StoreCtx,
  input: {name: string; description?: string; scopes: string[]; projectId: string | null; expiresAt: number | null; createdBy: string | null},
): Promise<{account: ServiceAccountRecord; apiKey: string}> {
  const id = newId('serviceAccount')
  const now = Date.now()
  const doc: Doc = {name: input.name, description: input.description ?? '', scopes: input.scopes, createdBy: input.createdBy}
  await c.db.insertInto(T).values({
    id, name_bidx: accountNameIndex(c, input.name), project_id: input.projectId, created_at: now, updated_at: now, expires_at: input.expiresAt, doc: c.cipher.sealJson(T, id, doc),
  }).execute()
  const apiKey = await issueApiKey(c, id, input.expiresAt)
  return {account: (await getServiceAccount(c, id))!, apiKey}
}

export async function issueApiKey(c: StoreCtx, accountId: string, expiresAt: number | null): Promise<string> {
  const id = newId('apiKey')
  const token = newToken('apiKey')
  await c.db.insertInto(K).values({
    id, service_account_id: accountId, key_hash: c.hasher.tokenHash(token), created_at: Date.now(), expires_at: expiresAt, doc: c.cipher.sealJson(K, id, {hint: token.slice(-4)}),
  }).execute()
  return token
}

/**
 * Rotation: a new key is issued; the current keys stay valid for `graceMs` (0 = revoked now),
 * so a CI system can roll to the new key without a window of failures.
 */
export async function rotateApiKey(c: StoreCtx, accountId: string, graceMs: number): Promise<string> {
  const now = Date.now()
  const until = now + graceMs
  const account = (await getServiceAccount(c, accountId))!
  if (graceMs > 0) {
    // keys that would outlive the grace period end with it; those ending sooner keep their end
    await c.db.updateTable(K).set({expires_at: until})
      .where('service_account_id', '=', accountId).where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', until)]))
      .execute()
  } else {
    await c.db.updateTable(K).set({revoked_at: now}).where('service_account_id', '=', accountId).where('revoked_at', 'is', null).execute()
  }
  return issueApiKey(c, accountId, account.expiresAtMs)
}

export async function getServiceAccount(c: StoreCtx, id: string): Promise<ServiceAccountRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toAccount(c, r)
}

export async function findServiceAccountByName(c: StoreCtx, name: string): Promise<ServiceAccountRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('name_bidx', '=', accountNameIndex(c, name)).executeTakeFirst()
  return r && toAccount(c, r)
}

export async function listServiceAccounts(c: StoreCtx): Promise<ServiceAccountRecord[]> {
  return (await c.db.selectFrom(T).selectAll().orderBy('created_at').orderBy('id').execute()).map((r) => toAccount(c, r))
}

export async function revokeServiceAccount(c: StoreCtx, id: string): Promise<boolean> {
  const now = Date.now()
  await c.db.updateTable(K).set({revoked_at: now}).where('service_account_id', '=', id).where('revoked_at', 'is', null).execute()
  return changed(await c.db.updateTable(T).set({revoked_at: now, updated_at: now}).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()) > 0
}

export async function deleteServiceAccount(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}

export type KeyCheck =
  | {ok: true; account: ServiceAccountRecord; keyId: string; expiresAtMs: number | null}
  | {ok: false; reason: 'unknown' | 'revoked' | 'expired'}

/** Resolves an API key: unknown, revoked and expired are told apart so the 401 can say which. */
export async function checkApiKey(c: StoreCtx, token: string, now = Date.now()): Promise<KeyCheck> {
  const hash = c.hasher.tokenHash(token)
  const k = await c.db.selectFrom(K).selectAll().where('key_hash', '=', hash).executeTakeFirst()
  if (!k || !c.hasher.tokenMatches(token, k.key_hash)) return {ok: false, reason: 'unknown'}
  const account = await getServiceAccount(c, k.service_account_id)
  if (!account) return {ok: false, reason: 'unknown'}
  if (k.revoked_at !== null || account.revokedAtMs !== null) return {ok: false, reason: 'revoked'}
  if ((k.expires_at !== null && k.expires_at <= now) || (account.expiresAtMs !== null && account.expiresAtMs <= now)) return {ok: false, reason: 'expired'}
  const ends = [k.expires_at, account.expiresAtMs].filter((t): t is number => t !== null)
  return {ok: true, account, keyId: k.id, expiresAtMs: ends.length > 0 ? Math.min(...ends) : null}
}
