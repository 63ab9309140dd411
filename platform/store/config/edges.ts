import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import {changed, type StoreCtx, transaction} from '../db.js'
import {normaliseName} from '../names.js'
import type {EdgesTable} from '../schema.js'

type Row = EdgesTable

/** The edge's public Ed25519 key as a JWK (never a private part). */
export type SigningJwk = Record<string, unknown>

/** The sealed part of an edge. */
export interface EdgeDoc {
  name: string
  /** the last certificate issued */
  certSerial: string | null
  /** the remote address and Mezusphere version of its last control connection */
  address: string | null
  version: string | null
  /** what it advertises: end-user URL and tunnel addresses */
  edgeUrl: string | null
  tunnelUrls: string[]
  signingJwk: SigningJwk | null
}

export interface EdgeRecord extends EdgeDoc {
  id: string
  /** the join token is outstanding (created, not used, not revoked); it may still have expired */
  hasToken: boolean
  /** when the join token stops working (ms) */
  tokenExpiresAt: number
  createdAt: number
  updatedAt: number
  enrolledAt: number | null
  certExpiresAt: number | null
  revokedAt: number | null
  lastSeenAt: number | null
}

const T = 'edges'

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('edges.name', normaliseName(name))

function toRecord(c: StoreCtx, r: Row): EdgeRecord {
  const d = c.cipher.openJson<EdgeDoc>(T, r.id, r.doc)
  return {
    ...d, id: r.id, hasToken: r.join_token_hash !== null, tokenExpiresAt: r.token_expires_at, createdAt: r.created_at, updatedAt: r.updated_at,
    enrolledAt: r.enrolled_at, certExpiresAt: r.cert_expires_at, revokedAt: r.revoked_at, lastSeenAt: r.last_seen_at,
  }
}

/** The sealed part of a record, with `changes` applied: every update re-seals the whole doc. */
function docOf(r: EdgeRecord, changes: Partial<EdgeDoc>): EdgeDoc {
  return {
    name: r.name, certSerial: r.certSerial, address: r.address, version: r.version, edgeUrl: r.edgeUrl, tunnelUrls: r.tunnelUrls, signingJwk: r.signingJwk,
    ...changes,
  }
}

/**
 * Creates an edge and the secret part of its one-time join token (`mezu_edge_…`), stored only as
 * a keyed hash and shown once. A name taken (in any letter case) breaks the unique index.
 */
export async function createEdge(c: StoreCtx, input: {name: string; tokenTtlMs: number}): Promise<{token: string; edge: EdgeRecord}> {
  const id = newId('edge')
  const token = newToken('edgeJoin')
  const now = Date.now()
  const doc: EdgeDoc = {name: input.name, certSerial: null, address: null, version: null, edgeUrl: null, tunnelUrls: [], signingJwk: null}
  await c.db.insertInto(T).values({
    id, name_bidx: nameIndex(c, input.name), join_token_hash: c.hasher.tokenHash(token), token_expires_at: now + input.tokenTtlMs,
    created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, doc),
  }).execute()
  return {token, edge: (await getEdge(c, id))!}
}

export async function getEdge(c: StoreCtx, id: string): Promise<EdgeRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toRecord(c, r)
}

/** By name, in any letter case. */
export async function getEdgeByName(c: StoreCtx, name: string): Promise<EdgeRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('name_bidx', '=', nameIndex(c, name)).executeTakeFirst()
  return r && toRecord(c, r)
}

/** The edge an unused join token secret belongs to; the hash is compared again in constant time. */
export async function findEdgeByToken(c: StoreCtx, secret: string): Promise<EdgeRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('join_token_hash', '=', c.hasher.tokenHash(secret)).executeTakeFirst()
  if (!r || !r.join_token_hash || !c.hasher.tokenMatches(secret, r.join_token_hash)) return undefined
  return toRecord(c, r)
}

/** Every edge, oldest first. */
export async function listEdges(c: StoreCtx): Promise<EdgeRecord[]> {
  return (await c.db.selectFrom(T).selectAll().orderBy('created_at').orderBy('id').execute()).map((r) => toRecord(c, r))
}

export interface Enrolment {
  certSerial: string
  certExpiresAt: number
  edgeUrl: string | null
  tunnelUrls: string[]
  signingJwk: SigningJwk | null
  at?: number
}

/**
 * Records the first certificate of an edge and burns its join token, in one transaction. The
 * update matches only while that token is still the edge's, unexpired and unrevoked, so of two
 * enrolments racing with one token exactly one returns true (on PostgreSQL the writers' advisory
 * lock orders them; the loser's UPDATE then finds the hash gone).
 */
export async function recordEnrolment(c: StoreCtx, id: string, secret: string, e: Enrolment): Promise<boolean> {
  const at = e.at ?? Date.now()
  return transaction(c, async () => {
    const cur = await getEdge(c, id)
    if (!cur) return false
    const doc = docOf(cur, {certSerial: e.certSerial, edgeUrl: e.edgeUrl, tunnelUrls: e.tunnelUrls, signingJwk: e.signingJwk})
    const result = await c.db.updateTable(T)
      .set({join_token_hash: null, enrolled_at: at, cert_expires_at: e.certExpiresAt, updated_at: at, doc: c.cipher.sealJson(T, id, doc)})
      .where('id', '=', id)
      .where('join_token_hash', '=', c.hasher.tokenHash(secret))
      .where('revoked_at', 'is', null)
      .where('token_expires_at', '>=', at)
      .executeTakeFirst()
    return changed(result) === 1
  })
}

/**
 * Records a renewed certificate; false when the edge was revoked (or deleted) meanwhile, so a
 * renewal racing a revocation never leaves a revoked edge with a fresh certificate on record.
 */
export async function recordRenewal(c: StoreCtx, id: string, r: {certSerial: string; certExpiresAt: number; at?: number}): Promise<boolean> {
  const at = r.at ?? Date.now()
  return transaction(c, async () => {
    const cur = await getEdge(c, id)
    if (!cur || cur.revokedAt !== null) return false
    const result = await c.db.updateTable(T)
      .set({cert_expires_at: r.certExpiresAt, updated_at: at, doc: c.cipher.sealJson(T, id, docOf(cur, {certSerial: r.certSerial}))})
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst()
    return changed(result) === 1
  })
}

/**
 * What the edge's control connection reported (on connect and disconnect, not per request):
 * address and version always, the advertised URLs when it sent them.
 */
export async function recordEdgeSeen(c: StoreCtx, id: string, seen: {address: string; version: string | null; edgeUrl?: string | null; tunnelUrls?: string[]; at?: number}): Promise<void> {
  const at = seen.at ?? Date.now()
  await transaction(c, async () => {
    const cur = await getEdge(c, id)
    if (!cur) return
    const doc = docOf(cur, {address: seen.address, version: seen.version, edgeUrl: seen.edgeUrl === undefined ? cur.edgeUrl : seen.edgeUrl, tunnelUrls: seen.tunnelUrls ?? cur.tunnelUrls})
    await c.db.updateTable(T).set({last_seen_at: at, doc: c.cipher.sealJson(T, id, doc)}).where('id', '=', id).execute()
  })
}

/** Revokes an edge (and any unused join token); false when it was already revoked or is missing. */
export async function revokeEdge(c: StoreCtx, id: string): Promise<boolean> {
  const now = Date.now()
  return changed(await c.db.updateTable(T).set({revoked_at: now, join_token_hash: null, updated_at: now}).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()) > 0
}
