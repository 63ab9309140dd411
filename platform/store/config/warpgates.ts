import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import {changed, type StoreCtx, transaction} from '../db.js'
import type {WarpgatesTable} from '../schema.js'

type Row = WarpgatesTable

/** The sealed part of a Warpgate registration. */
export interface WarpgateDoc {
  name: string
  /** the service name routes point at */
  service: string
  /** when the one-time registration token stops working (ms) */
  tokenExpiresAt: number
  registeredAt: number | null
  /** the last certificate issued: serial and expiry (ms) */
  certSerial: string | null
  certExpiresAt: number | null
}

export interface WarpgateRecord extends WarpgateDoc {
  id: string
  projectId: string
  environmentId: string
  /** a registration token is outstanding (created, not yet used) */
  hasToken: boolean
  createdAt: number
  updatedAt: number
  revokedAt: number | null
  lastSeenAt: number | null
}
const T = 'warpgates'

function toRecord(c: StoreCtx, r: Row): WarpgateRecord {
  const d = c.cipher.openJson<WarpgateDoc>(T, r.id, r.doc)
  return {
    ...d, id: r.id, projectId: r.project_id, environmentId: r.environment_id, hasToken: r.token_hash !== null,
    createdAt: r.created_at, updatedAt: r.updated_at, revokedAt: r.revoked_at, lastSeenAt: r.last_seen_at,
  }
}

/** Creates a registration and its one-time token, stored only as a keyed hash and shown once. */
export async function createWarpgate(c: StoreCtx, input: {projectId: string; environmentId: string; name: string; service: string; tokenTtlMs: number}): Promise<{token: string; warpgate: WarpgateRecord}> {
  const id = newId('warpgate')
  const token = newToken('warpgate')
  const now = Date.now()
  const doc: WarpgateDoc = {name: input.name, service: input.service, tokenExpiresAt: now + input.tokenTtlMs, registeredAt: null, certSerial: null, certExpiresAt: null}
  await c.db.insertInto(T).values({
    id, project_id: input.projectId, environment_id: input.environmentId, token_hash: c.hasher.tokenHash(token), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, doc),
  }).execute()
  return {token, warpgate: (await getWarpgate(c, id))!}
}

export async function getWarpgate(c: StoreCtx, id: string): Promise<WarpgateRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toRecord(c, r)
}

/** The registration a token belongs to; the hash is compared again in constant time. */
export async function findWarpgateByToken(c: StoreCtx, token: string): Promise<WarpgateRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('token_hash', '=', c.hasher.tokenHash(token)).executeTakeFirst()
  if (!r || !r.token_hash || !c.hasher.tokenMatches(token, r.token_hash)) return undefined
  return toRecord(c, r)
}

/** Registrations, oldest first; `projectIds` limits to a caller's reach. */
export async function listWarpgates(c: StoreCtx, filter: {projectIds?: readonly string[]; environmentId?: string} = {}): Promise<WarpgateRecord[]> {
  if (filter.projectIds && filter.projectIds.length === 0) return []
  let q = c.db.selectFrom(T).selectAll()
  if (filter.projectIds) q = q.where('project_id', 'in', filter.projectIds)
  if (filter.environmentId) q = q.where('environment_id', '=', filter.environmentId)
  return (await q.orderBy('created_at').orderBy('id').execute()).map((r) => toRecord(c, r))
}

/** The sealed doc of `r` with a newly issued certificate; the first one also dates the registration. */
function withCertificate(r: WarpgateRecord, cert: {serial: string; expiresAt: number}, now: number): WarpgateDoc {
  return {
    name: r.name, service: r.service, tokenExpiresAt: r.tokenExpiresAt,
    registeredAt: r.registeredAt ?? now, certSerial: cert.serial, certExpiresAt: cert.expiresAt,
  }
}

/** Records a renewed certificate. */
export async function recordCertificate(c: StoreCtx, id: string, cert: {serial: string; expiresAt: number}): Promise<void> {
  const cur = await getWarpgate(c, id)
  if (!cur) return
  const now = Date.now()
  await c.db.updateTable(T).set({updated_at: now, doc: c.cipher.sealJson(T, id, withCertificate(cur, cert, now))}).where('id', '=', id).execute()
}

/**
 * Records the first certificate and burns the registration token, matching only while that token
 * is still the registration's and it is unrevoked: of two registrations racing with one token,
 * exactly one returns true (on PostgreSQL the writers' lock orders them; the loser finds the hash gone).
 */
export async function recordRegistration(c: StoreCtx, id: string, token: string, cert: {serial: string; expiresAt: number}): Promise<boolean> {
  return transaction(c, async () => {
    const cur = await getWarpgate(c, id)
    if (!cur) return false
    const now = Date.now()
    const result = await c.db.updateTable(T)
      .set({token_hash: null, updated_at: now, doc: c.cipher.sealJson(T, id, withCertificate(cur, cert, now))})
      .where('id', '=', id)
      .where('token_hash', '=', c.hasher.tokenHash(token))
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return changed(result) === 1
  })
}

/** Revokes a registration (and any unused token); returns false when it was already revoked or is missing. */
export async function revokeWarpgate(c: StoreCtx, id: string): Promise<boolean> {
  const now = Date.now()
  return changed(await c.db.updateTable(T).set({revoked_at: now, token_hash: null, updated_at: now}).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()) > 0
}

/** Last time a Warpgate was connected (written on connect and disconnect, not per request). */
export async function touchWarpgate(c: StoreCtx, id: string, at = Date.now()): Promise<void> {
  await c.db.updateTable(T).set({last_seen_at: at}).where('id', '=', id).execute()
}
