import {listEdges} from '../store/config/edges.js'
import {setImmediate as nextTurn} from 'node:timers/promises'
import type {Route} from '../../src/lib/api-types/index.js'
import type {EdgeServiceKey, EdgeSession, EdgeSigningKey, EdgeUser} from '../edge/identity-snapshot.js'
import type {RouteRecord} from '../store/config/routes.js'
import {ensureSigningKey, publishedSigningKeys, type SigningKeyRecord} from '../store/config/signing-keys.js'
import type {OnCommit, StoreCtx} from '../store/db.js'
import {allDirectoryRows, type EdgeApiKeyRow, type EdgeSessionRow} from '../store/identity/edge-reads.js'
import type {ServiceAccountRecord} from '../store/identity/service-accounts.js'
import {sessionDoc} from '../store/identity/sessions.js'
import {announce, type ControlContext} from './context.js'

// The pieces of the edge snapshot, shared by its full build (edge-build.ts) and the deltas that
// keep it current (edge-delta.ts), so both turn a store row into exactly the same edge value.

/** The edge's login client name in the sessions table. */
export const BROWSER_CLIENT = 'browser'

/**
 * Inside the transaction that created a session: a browser session is one the edge serves, so it
 * is announced like any other change the snapshot reflects. The snapshot follows the feed (here
 * and at every other control plane's edge), and the login answers once the edge holds it.
 */
export async function announceSession(ctx: Pick<ControlContext, 'cdb' | 'feed'>, onCommit: OnCommit, sessionId: string, client: string): Promise<void> {
  if (client === BROWSER_CLIENT) await announce(ctx, onCommit, {kind: 'session', id: sessionId, action: 'created'})
}

/** What building the snapshot reads from the control context. */
export type SnapshotCtx = Pick<ControlContext, 'idb' | 'cdb' | 'config'>

/**
 * Lets the event loop turn once. The edge forwards traffic on the loop that builds its snapshot,
 * so long reads are cut into pages with a turn between them: a request waits one page, not the build.
 */
export function yieldToLoop(): Promise<void> {
  return nextTurn()
}

/** The public URL of a route on an edge listening at `edgePort` (443 is left out). */
export function routeUrl(route: Pick<RouteRecord, 'hostname' | 'pathPrefix'>, edgePort: number | null): string {
  const port = edgePort && edgePort !== 443 ? `:${edgePort}` : ''
  return `https://${route.hostname}${port}${route.pathPrefix === '/' ? '/' : route.pathPrefix}`
}

export function edgeRoute(r: RouteRecord, edgePort: number | null): Route {
  return Object.freeze({...r, url: routeUrl(r, edgePort)})
}

/** Snapshot routes are in listRoutes' order (created_at, then id); createdAt is an ISO string of a ms time, so it sorts as text. */
export function routeOrder(a: Pick<Route, 'createdAt' | 'id'>, b: Pick<Route, 'createdAt' | 'id'>): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** Directory id → its path and its lineage (itself and every ancestor). */
export type DirectoryIndex = ReadonlyMap<string, {path: string; lineage: readonly string[]}>

/** The whole directory tree, names opened once (directories are few; every path needs its ancestors). */
export async function directoryIndex(idb: StoreCtx): Promise<DirectoryIndex> {
  const rows = await allDirectoryRows(idb)
  const byId = new Map(rows.map((r) => [r.id, r]))
  const names = new Map(rows.map((r) => [r.id, idb.cipher.openJson<{name: string}>('directories', r.id, r.doc).name]))
  const out = new Map<string, {path: string; lineage: string[]}>()
  for (const r of rows) {
    const lineage: string[] = []
    const parts: string[] = []
    for (let cur: (typeof rows)[number] | undefined = r; cur && lineage.length < 64; cur = cur.parent_id ? byId.get(cur.parent_id) : undefined) {
      lineage.push(cur.id)
      parts.unshift(names.get(cur.id)!)
    }
    out.set(r.id, {path: parts.join('/'), lineage})
  }
  return out
}

/** Membership rows grouped by user, in row order. */
export function membershipsByUser(rows: ReadonlyArray<{directory_id: string; user_id: string}>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const r of rows) {
    const list = out.get(r.user_id)
    if (list) list.push(r.directory_id)
    else out.set(r.user_id, [r.directory_id])
  }
  return out
}

/** A user as the edge holds them: the directories they are in with every ancestor, and the paths of those they are directly in. */
export function toEdgeUser(u: Pick<EdgeUser, 'id' | 'email' | 'status'>, dirs: readonly string[], tree: DirectoryIndex): EdgeUser {
  const ids = new Set<string>()
  const paths: string[] = []
  for (const d of dirs) {
    const node = tree.get(d)
    if (!node) continue
    paths.push(node.path)
    for (const id of node.lineage) ids.add(id)
  }
  return {id: u.id, email: u.email, status: u.status, directoryIds: [...ids], directoryPaths: paths.sort()}
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])

/** Do two edge users carry the same directories (a directory change leaves most users as they were)? */
export function sameDirectories(a: EdgeUser, b: EdgeUser): boolean {
  return sameList(a.directoryIds, b.directoryIds) && sameList(a.directoryPaths, b.directoryPaths)
}

/**
 * The edge's view of a session row: only live browser sessions are in the snapshot (a CLI or API
 * session is never presented as a cookie). The client is sealed in the row's doc.
 */
export function browserSession(idb: StoreCtx, r: EdgeSessionRow, now: number): EdgeSession | undefined {
  if (r.revoked_at !== null || r.expires_at <= now) return undefined
  // personal: sealed with the user's key (read with the row)
  if (sessionDoc(idb, r).client !== BROWSER_CLIENT) return undefined
  return {id: r.id, userId: r.user_id, createdAtMs: r.created_at, lastUsedAtMs: r.last_used_at, expiresAtMs: r.expires_at}
}

/** An API key as the edge holds it: the earlier of the key's and the account's expiry, and either's revocation. */
export function serviceKey(k: EdgeApiKeyRow, a: ServiceAccountRecord): EdgeServiceKey {
  const expiries = [k.expires_at, a.expiresAtMs].filter((x): x is number => x !== null)
  return {
    keyId: k.id, accountId: a.id, accountName: a.name,
    expiresAtMs: expiries.length ? Math.min(...expiries) : null,
    revokedAtMs: k.revoked_at ?? a.revokedAtMs,
  }
}

function toEdgeKey(k: SigningKeyRecord, withPrivate: boolean): EdgeSigningKey {
  return {kid: k.kid, publicJwk: k.publicJwk, ...(withPrivate ? {privateJwk: k.privateJwk} : {})}
}

/** The active signing key (created on first use) and every key the JWKS publishes. */
export async function signingKeys(ctx: SnapshotCtx, now: number): Promise<{activeKey: EdgeSigningKey; publishedKeys: EdgeSigningKey[]}> {
  const active = await ensureSigningKey(ctx.cdb, now)
  const published = await publishedSigningKeys(ctx.cdb, ctx.config.edge.assertionTtlMs, now)
  // Each edge node signs with a key of its own; Warpgates verify against all of them.
  const edgeKeys = (await listEdges(ctx.cdb))
    .filter((e) => e.enrolledAt !== null && e.revokedAt === null && e.signingJwk && typeof e.signingJwk.kid === 'string')
    .map((e): EdgeSigningKey => ({kid: e.signingJwk!.kid as string, publicJwk: e.signingJwk!}))
  return {activeKey: toEdgeKey(active, true), publishedKeys: [...published.map((k) => toEdgeKey(k, false)), ...edgeKeys]}
}
