import type {Policy, Route} from '../../src/lib/api-types/index.js'
import type {EdgeSnapshot} from '../edge/config-source.js'
import type {EdgeIdentitySnapshot, EdgeServiceKey, EdgeSession, EdgeUser} from '../edge/identity-snapshot.js'
import {configVersion} from '../store/config/meta.js'
import {listPolicies} from '../store/config/policies.js'
import {listRoutesPage} from '../store/config/routes.js'
import type {CursorPosition} from '../store/page.js'
import {apiKeyRows, liveSessionRowsPage, membershipRowsOfUsers} from '../store/identity/edge-reads.js'
import {listServiceAccounts} from '../store/identity/service-accounts.js'
import {listUsers} from '../store/identity/users.js'
import {browserSession, type DirectoryIndex, directoryIndex, edgeRoute, membershipsByUser, serviceKey, signingKeys, type SnapshotCtx, toEdgeUser, yieldToLoop} from './edge-parts.js'

// Page sizes of the full build, each a few milliseconds of decryption: the longest the event loop
// (which forwards the edge's traffic) waits for it. Users open slowest; their pages are not smaller
// still because each page of listUsers sorts the whole table (no index on its order), so small
// pages would cost more in all than they save per page.
const ROUTE_PAGE = 250
const USER_PAGE = 250
const SESSION_PAGE = 500

/** A snapshot and what keeping it current by deltas needs beside it (edge-delta.ts). */
export interface EdgeState {
  snapshot: EdgeSnapshot
  /** the directory tree users' directory ids and paths are computed from */
  directories: DirectoryIndex
}

/**
 * Builds the whole snapshot from the stores, a page at a time with a turn of the event loop
 * between pages. It runs outside any transaction (on PostgreSQL every transaction takes the
 * writers' lock; on SQLite it would hold the one connection for the whole build), so the version
 * is read first: everything committed up to it is in what follows. A change that commits while
 * the build reads may be half in it; its feed event, queued behind the build, applies it whole.
 */
export async function buildSnapshot(ctx: SnapshotCtx, domain: string, edgePort: number | null, now = Date.now()): Promise<EdgeState> {
  const version = await configVersion(ctx.cdb)
  const routes: Route[] = []
  for (let after: CursorPosition | undefined, more = true; more; ) {
    const page = await listRoutesPage(ctx.cdb, after, ROUTE_PAGE)
    for (const r of page) routes.push(edgeRoute(r, edgePort))
    const last = page.at(-1)
    more = page.length === ROUTE_PAGE && last !== undefined
    if (last) after = {at: Date.parse(last.createdAt), id: last.id}
    await yieldToLoop()
  }
  // policies are read whole: there are far fewer of them than routes, users or sessions
  const policies = new Map<string, Policy>((await listPolicies(ctx.cdb)).map((p) => [p.id, Object.freeze(p)]))
  await yieldToLoop()
  const {identity, directories} = await buildIdentity(ctx, now)
  return {snapshot: Object.freeze({version, domain, routes: Object.freeze(routes), policies, identity}), directories}
}

/**
 * The identity part: every user with their directories (and ancestors), live browser sessions by
 * token hash, all API keys by keyed hash, and the signing keys.
 */
export async function buildIdentity(ctx: SnapshotCtx, now = Date.now()): Promise<{identity: EdgeIdentitySnapshot; directories: DirectoryIndex}> {
  const {idb} = ctx
  const directories = await directoryIndex(idb)
  await yieldToLoop()

  const users = new Map<string, EdgeUser>()
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await listUsers(idb, {limit: USER_PAGE, cursor})
    // memberships a page of users at a time too: all at once is one long read
    const members = membershipsByUser(await membershipRowsOfUsers(idb, page.items.map((u) => u.id)))
    for (const u of page.items) users.set(u.id, toEdgeUser(u, members.get(u.id) ?? [], directories))
    cursor = page.nextCursor ?? undefined
    await yieldToLoop()
  }

  const sessions = new Map<string, EdgeSession>()
  for (let after: string | undefined, more = true; more; ) {
    const rows = await liveSessionRowsPage(idb, now, after, SESSION_PAGE)
    for (const r of rows) {
      const s = browserSession(idb, r, now)
      if (s) sessions.set(r.token_hash.toString('hex'), s)
    }
    more = rows.length === SESSION_PAGE
    after = rows.at(-1)?.id
    await yieldToLoop()
  }

  const accounts = new Map((await listServiceAccounts(idb)).map((a) => [a.id, a]))
  const serviceKeys = new Map<string, EdgeServiceKey>()
  for (const k of await apiKeyRows(idb)) {
    const a = accounts.get(k.service_account_id)
    if (a) serviceKeys.set(k.key_hash.toString('hex'), serviceKey(k, a))
  }
  await yieldToLoop()

  return {identity: {users, sessions, serviceKeys, ...(await signingKeys(ctx, now))}, directories}
}
