import type {Policy, Route} from '../../src/lib/api-types/index.js'
import type {EdgeIdentitySnapshot, EdgeServiceKey, EdgeSession, EdgeSigningKey, EdgeUser} from '../edge/identity-snapshot.js'
import {getEnvironment} from '../store/config/environments.js'
import {getPolicy, listPolicies} from '../store/config/policies.js'
import {getProject} from '../store/config/projects.js'
import {getRoute, listRoutes, type RouteRecord} from '../store/config/routes.js'
import {apiKeyRowsOfAccount, liveSessionRowsOfUser, membershipRows, membershipRowsOfUsers, sessionRowById} from '../store/identity/edge-reads.js'
import {getServiceAccount} from '../store/identity/service-accounts.js'
import {getUser} from '../store/identity/users.js'
import type {EdgeState} from './edge-build.js'
import {browserSession, type DirectoryIndex, directoryIndex, edgeRoute, membershipsByUser, routeOrder, sameDirectories, serviceKey, signingKeys, type SnapshotCtx, toEdgeUser, yieldToLoop} from './edge-parts.js'
import type {ChangeEvent} from './feed.js'

/**
 * Keeping the edge snapshot current one change at a time. Each feed event re-reads only what its
 * kind can affect, whatever its action says (the store is the truth; an event only says where to
 * look), into a draft that copies a map of the snapshot the first time it changes it and shares
 * every other: the snapshot the edge holds is never modified, a new one replaces it.
 *
 * What each event id is (see who announces them in platform/control/routes/*.ts and
 * edge-identity.ts):
 *   session          a session id: created at the edge's login, revoked (logout, API)
 *   user             a user id: created, updated (also invitation accepted), revoked (disabled,
 *                    and every session of theirs revoked under the same event), deleted (erased,
 *                    and every policy naming their email rewritten under the same event)
 *   route, policy    its id (deleting a policy also detaches its routes)
 *   project,         its id; deleting one deletes its routes (and a project its policies)
 *   environment
 *   service-account  an account id: created, key rotated, revoked, deleted
 *   directory        a directory id; members added or removed, renamed, moved, deleted with its subtree
 *   signing-key      (none announced today: keys rotate offline) the active and published keys
 *   edge             an edge node's id: created, enrolled (its signing key is published), revoked
 *   warpgate, edge   quiet (below): registrations and edge nodes, nothing the edge's snapshot holds
 */

/**
 * Kinds whose events change nothing the edge serves: they only advance the feed's version. `edge`
 * belongs here only while edge nodes' signing keys stay out of the snapshot's JWKS.
 */
export const QUIET_KINDS: ReadonlySet<string> = new Set(['warpgate'])

/** Kinds a delta knows how to apply; those needing an id fall back to a full build without one (a user import). */
const DELTA_KINDS: ReadonlyMap<string, {needsId: boolean}> = new Map([
  ['session', {needsId: true}], ['user', {needsId: true}], ['route', {needsId: true}], ['policy', {needsId: true}],
  ['project', {needsId: true}], ['environment', {needsId: true}], ['service-account', {needsId: true}],
  ['directory', {needsId: false}], ['signing-key', {needsId: false}], ['edge', {needsId: false}],
])

/** Does this event need the whole snapshot rebuilt: `resync`, a kind no delta knows, or a change that names no one thing? */
export function needsFullBuild(e: ChangeEvent): boolean {
  const known = DELTA_KINDS.get(e.kind)
  return known === undefined || (known.needsId && e.id === null)
}

const hex = (b: Buffer) => b.toString('hex')

/** The snapshot being changed: unchanged parts are the current snapshot's own objects; a changed map or list is a copy made on first write. */
class Draft {
  routes: readonly Route[]
  policies: ReadonlyMap<string, Policy>
  users: ReadonlyMap<string, EdgeUser>
  sessions: ReadonlyMap<string, EdgeSession>
  serviceKeys: ReadonlyMap<string, EdgeServiceKey>
  keys: {activeKey: EdgeSigningKey; publishedKeys: readonly EdgeSigningKey[]}
  directories: DirectoryIndex
  private readonly copied = new Set<string>()

  constructor(private readonly base: EdgeState) {
    const {snapshot} = base
    this.routes = snapshot.routes
    this.policies = snapshot.policies
    this.users = snapshot.identity.users
    this.sessions = snapshot.identity.sessions
    this.serviceKeys = snapshot.identity.serviceKeys
    this.keys = {activeKey: snapshot.identity.activeKey, publishedKeys: snapshot.identity.publishedKeys}
    this.directories = base.directories
  }

  private first(part: string): boolean {
    if (this.copied.has(part)) return false
    this.copied.add(part)
    return true
  }

  writeRoutes(): Route[] {
    if (this.first('routes')) this.routes = [...this.routes]
    return this.routes as Route[]
  }

  writePolicies(): Map<string, Policy> {
    if (this.first('policies')) this.policies = new Map(this.policies)
    return this.policies as Map<string, Policy>
  }

  writeUsers(): Map<string, EdgeUser> {
    if (this.first('users')) this.users = new Map(this.users)
    return this.users as Map<string, EdgeUser>
  }

  writeSessions(): Map<string, EdgeSession> {
    if (this.first('sessions')) this.sessions = new Map(this.sessions)
    return this.sessions as Map<string, EdgeSession>
  }

  writeServiceKeys(): Map<string, EdgeServiceKey> {
    if (this.first('serviceKeys')) this.serviceKeys = new Map(this.serviceKeys)
    return this.serviceKeys as Map<string, EdgeServiceKey>
  }

  setKeys(keys: {activeKey: EdgeSigningKey; publishedKeys: readonly EdgeSigningKey[]}): void {
    this.copied.add('keys')
    this.keys = keys
  }

  /** The new state at `version`: the base's own snapshot object when nothing changed and the version did not move. */
  finish(version: number): EdgeState {
    const {snapshot} = this.base
    if (this.copied.size === 0 && this.directories === this.base.directories && version === snapshot.version) return this.base
    const identityChanged = ['users', 'sessions', 'serviceKeys', 'keys'].some((p) => this.copied.has(p))
    const identity: EdgeIdentitySnapshot = identityChanged
      ? {users: this.users, sessions: this.sessions, serviceKeys: this.serviceKeys, activeKey: this.keys.activeKey, publishedKeys: this.keys.publishedKeys}
      : snapshot.identity
    const routes = this.copied.has('routes') ? Object.freeze(this.routes) : snapshot.routes
    return {snapshot: Object.freeze({version, domain: snapshot.domain, routes, policies: this.policies, identity}), directories: this.directories}
  }
}

/** What applying events needs beside the context. */
export interface DeltaOptions {
  edgePort: number | null
  now?: number
  /** the edge's port changed: every route's URL is recomputed (no store read) */
  reurl?: boolean
}

/**
 * Applies events, in order, to `state`; the result shares every part no event touched. Every
 * event must be one needsFullBuild() refuses. The version becomes the newest event's (never
 * lower than the state's): what the snapshot reflects at least.
 */
export async function applyDeltas(ctx: SnapshotCtx, state: EdgeState, events: readonly ChangeEvent[], opts: DeltaOptions): Promise<EdgeState> {
  const d = new Draft(state)
  const now = opts.now ?? Date.now()
  if (opts.reurl) {
    const routes = d.writeRoutes()
    for (const [i, r] of routes.entries()) routes[i] = edgeRoute(r, opts.edgePort)
  }
  for (const e of events) await applyOne(ctx, d, e, now, opts.edgePort)
  return d.finish(Math.max(state.snapshot.version, ...events.map((e) => e.version)))
}

async function applyOne(ctx: SnapshotCtx, d: Draft, e: ChangeEvent, now: number, edgePort: number | null): Promise<void> {
  const id = e.id!
  switch (e.kind) {
    case 'session': return sessionChanged(ctx, d, id, now)
    case 'user': return userChanged(ctx, d, id, now)
    case 'route': return routeChanged(ctx, d, id, edgePort)
    case 'policy': return policyChanged(ctx, d, id, edgePort)
    case 'project': return projectChanged(ctx, d, id, edgePort)
    case 'environment': return environmentChanged(ctx, d, id, edgePort)
    case 'service-account': return serviceAccountChanged(ctx, d, id)
    case 'directory': return directoriesChanged(ctx, d)
    // an edge node enrolled or was revoked: its assertion key joins or leaves the JWKS
    case 'signing-key':
    case 'edge': return d.setKeys(await signingKeys(ctx, now))
    default: throw new Error(`no delta for feed events of kind ${e.kind}`)
  }
}

// --- identity ---

const sameSession = (a: EdgeSession, b: EdgeSession) =>
  a.id === b.id && a.userId === b.userId && a.createdAtMs === b.createdAtMs && a.lastUsedAtMs === b.lastUsedAtMs && a.expiresAtMs === b.expiresAtMs

/** Replaces the sessions `which` selects by `fresh` (by token hash); the map is copied only if that changes it. */
function replaceSessions(d: Draft, which: (s: EdgeSession) => boolean, fresh: ReadonlyMap<string, EdgeSession>): void {
  const gone = [...d.sessions].filter(([hash, s]) => which(s) && !fresh.has(hash)).map(([hash]) => hash)
  const changed = [...fresh].filter(([hash, s]) => {
    const cur = d.sessions.get(hash)
    return !cur || !sameSession(cur, s)
  })
  if (gone.length === 0 && changed.length === 0) return
  const sessions = d.writeSessions()
  for (const hash of gone) sessions.delete(hash)
  for (const [hash, s] of changed) sessions.set(hash, s)
}

/** One session: in the snapshot while it is a live browser session, out once revoked, expired or gone. */
async function sessionChanged(ctx: SnapshotCtx, d: Draft, id: string, now: number): Promise<void> {
  const row = await sessionRowById(ctx.idb, id)
  const session = row && browserSession(ctx.idb, row, now)
  if (!row) {
    // gone from the store (pruned, or its user erased): found by id, since its token hash went with it
    replaceSessions(d, (s) => s.id === id, new Map())
  } else {
    const hash = hex(row.token_hash)
    const cur = d.sessions.get(hash)
    if (session && (!cur || !sameSession(cur, session))) d.writeSessions().set(hash, session)
    else if (!session && cur) d.writeSessions().delete(hash)
  }
  // A session is of no use to the edge without its user; a user written without a feed event
  // (an import tool, a test) would otherwise stay unknown until the next full build.
  if (session && !d.users.has(session.userId)) await userChanged(ctx, d, session.userId, now)
}

const sameUser = (a: EdgeUser, b: EdgeUser) => a.id === b.id && a.email === b.email && a.status === b.status && sameDirectories(a, b)

/**
 * One user and everything of theirs the edge holds: their directories, and their sessions (a
 * disable revokes them all under the user's one event). A user who is gone was erased: their
 * sessions go, and erasure rewrote every policy naming their email under the same event, so
 * policies are read again (all of them: the event does not say which; erasures are rare).
 */
async function userChanged(ctx: SnapshotCtx, d: Draft, id: string, now: number): Promise<void> {
  const u = await getUser(ctx.idb, id)
  if (!u) {
    if (d.users.has(id)) d.writeUsers().delete(id)
    replaceSessions(d, (s) => s.userId === id, new Map())
    reloadPolicies(d, () => true, await listPolicies(ctx.cdb))
    return
  }
  const dirs = (await membershipRows(ctx.idb, id)).map((r) => r.directory_id)
  const next = toEdgeUser(u, dirs, d.directories)
  const cur = d.users.get(id)
  // a change of name or role changes nothing the edge holds: the users map is not even copied
  if (!cur || !sameUser(cur, next)) d.writeUsers().set(id, next)
  const live = new Map<string, EdgeSession>()
  for (const r of await liveSessionRowsOfUser(ctx.idb, id, now)) {
    const s = browserSession(ctx.idb, r, now)
    if (s) live.set(hex(r.token_hash), s)
  }
  replaceSessions(d, (s) => s.userId === id, live)
}

/** Users whose memberships a directory change reads at once. */
const DIRECTORY_CHUNK = 500

/**
 * The directory tree and every membership, read again; each user's directory ids and paths are
 * recomputed from what the snapshot already holds of them (no user is decrypted) and only users
 * whose directories changed are replaced. This touches every user, which is fine for directories:
 * they change rarely, and a rename or move changes the paths of everyone below it.
 */
async function directoriesChanged(ctx: SnapshotCtx, d: Draft): Promise<void> {
  d.directories = await directoryIndex(ctx.idb)
  const users = [...d.users.values()]
  for (let at = 0; at < users.length; at += DIRECTORY_CHUNK) {
    const chunk = users.slice(at, at + DIRECTORY_CHUNK)
    const members = membershipsByUser(await membershipRowsOfUsers(ctx.idb, chunk.map((u) => u.id)))
    for (const u of chunk) {
      const next = toEdgeUser(u, members.get(u.id) ?? [], d.directories)
      if (!sameDirectories(u, next)) d.writeUsers().set(u.id, next)
    }
    await yieldToLoop()
  }
}

/** One service account's keys, all of them (a rotation adds one and shortens or revokes the others). */
async function serviceAccountChanged(ctx: SnapshotCtx, d: Draft, id: string): Promise<void> {
  const a = await getServiceAccount(ctx.idb, id)
  const fresh = new Map<string, EdgeServiceKey>()
  if (a) for (const k of await apiKeyRowsOfAccount(ctx.idb, id)) fresh.set(hex(k.key_hash), serviceKey(k, a))
  const gone = [...d.serviceKeys].filter(([hash, k]) => k.accountId === id && !fresh.has(hash)).map(([hash]) => hash)
  if (gone.length === 0 && fresh.size === 0) return
  const keys = d.writeServiceKeys()
  for (const hash of gone) keys.delete(hash)
  for (const [hash, k] of fresh) keys.set(hash, k)
}

// --- routes and policies ---

/** Puts one route (or its absence) in place, keeping the list in listRoutes' order. */
function placeRoute(d: Draft, id: string, r: RouteRecord | undefined, edgePort: number | null): void {
  const at = d.routes.findIndex((x) => x.id === id)
  if (at === -1 && !r) return
  const routes = d.writeRoutes()
  if (at !== -1) routes.splice(at, 1)
  if (!r) return
  const route = edgeRoute(r, edgePort)
  let lo = 0
  let hi = routes.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (routeOrder(routes[mid]!, route) < 0) lo = mid + 1
    else hi = mid
  }
  routes.splice(lo, 0, route)
}

async function routeChanged(ctx: SnapshotCtx, d: Draft, id: string, edgePort: number | null): Promise<void> {
  const r = await getRoute(ctx.cdb, id)
  placeRoute(d, id, r, edgePort)
  // A route whose policy the snapshot lacks would refuse everyone; a policy written without a feed
  // event of its own (with the route, in one transaction) is read with it.
  if (r?.policyId && !d.policies.has(r.policyId)) {
    const p = await getPolicy(ctx.cdb, r.policyId)
    if (p) d.writePolicies().set(p.id, Object.freeze(p))
  }
}

/** Replaces the routes `which` selects by `fresh` (what the store now holds of them), in order. */
function reloadRoutes(d: Draft, which: (r: Route) => boolean, fresh: readonly RouteRecord[], edgePort: number | null): void {
  const kept = d.routes.filter((r) => !which(r))
  const added = fresh.map((r) => edgeRoute(r, edgePort))
  if (kept.length === d.routes.length && added.length === 0) return
  const routes = d.writeRoutes()
  routes.length = 0
  routes.push(...[...kept, ...added].sort(routeOrder))
}

/** Replaces the policies `which` selects by `fresh` (what the store now holds of them). */
function reloadPolicies(d: Draft, which: (p: Policy) => boolean, fresh: readonly Policy[]): void {
  const policies = d.writePolicies()
  for (const [id, p] of [...policies]) if (which(p)) policies.delete(id)
  for (const p of fresh) policies.set(p.id, Object.freeze(p))
}

/**
 * One policy. Deleting a policy detaches the routes that used it in the same transaction (they
 * fall back to "any signed-in user"): the routes of the projects that had such routes are read again.
 */
async function policyChanged(ctx: SnapshotCtx, d: Draft, id: string, edgePort: number | null): Promise<void> {
  const p = await getPolicy(ctx.cdb, id)
  if (p) {
    d.writePolicies().set(id, Object.freeze(p))
    return
  }
  if (d.policies.has(id)) d.writePolicies().delete(id)
  for (const projectId of new Set(d.routes.filter((r) => r.policyId === id).map((r) => r.projectId))) {
    reloadRoutes(d, (r) => r.projectId === projectId, await listRoutes(ctx.cdb, {projectId}), edgePort)
  }
}

/** A project that still exists changes nothing the edge holds; a deleted one took its routes and policies with it. */
async function projectChanged(ctx: SnapshotCtx, d: Draft, id: string, edgePort: number | null): Promise<void> {
  if (await getProject(ctx.cdb, id)) return
  if (d.routes.some((r) => r.projectId === id)) reloadRoutes(d, (r) => r.projectId === id, await listRoutes(ctx.cdb, {projectId: id}), edgePort)
  if ([...d.policies.values()].some((p) => p.projectId === id)) reloadPolicies(d, (p) => p.projectId === id, await listPolicies(ctx.cdb, id))
}

/** Likewise for an environment: deleting one deletes its routes. */
async function environmentChanged(ctx: SnapshotCtx, d: Draft, id: string, edgePort: number | null): Promise<void> {
  if (await getEnvironment(ctx.cdb, id)) return
  if (d.routes.some((r) => r.environmentId === id)) reloadRoutes(d, (r) => r.environmentId === id, await listRoutes(ctx.cdb, {environmentId: id}), edgePort)
}
