import type {Route} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {changed, type StoreCtx} from '../db.js'
import {afterCursor, type CursorPosition} from '../page.js'
import type {RoutesTable} from '../schema.js'

type Row = RoutesTable
/** The sealed part of a route. */
export interface RouteDoc {
  hostname: string
  pathPrefix: string
  service: string
  bodyLimitBytes: number | null
  rateLimitPerMinute: number | null
}
const T = 'routes'

/** A route as stored; `url` is added by whoever knows the edge's address. */
export type RouteRecord = Omit<Route, 'url'>

function toRoute(c: StoreCtx, r: Row): RouteRecord {
  const d = c.cipher.openJson<RouteDoc>(T, r.id, r.doc)
  return {
    id: r.id, projectId: r.project_id, environmentId: r.environment_id, policyId: r.policy_id, ...d,
    createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
  }
}

/** One route per hostname + path prefix across the whole platform. */
export const hostPathIndex = (c: StoreCtx, hostname: string, pathPrefix: string) => c.hasher.blindIndex('routes.host_path', `${hostname.toLowerCase()}\0${pathPrefix}`)

export async function createRoute(c: StoreCtx, input: {projectId: string; environmentId: string; policyId: string | null} & RouteDoc): Promise<RouteRecord> {
  const id = newId('route')
  const now = Date.now()
  const doc: RouteDoc = {hostname: input.hostname.toLowerCase(), pathPrefix: input.pathPrefix, service: input.service, bodyLimitBytes: input.bodyLimitBytes, rateLimitPerMinute: input.rateLimitPerMinute}
  await c.db.insertInto(T).values({
    id, project_id: input.projectId, environment_id: input.environmentId, policy_id: input.policyId,
    host_path_bidx: hostPathIndex(c, doc.hostname, doc.pathPrefix), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, doc),
  }).execute()
  return (await getRoute(c, id))!
}

export async function getRoute(c: StoreCtx, id: string): Promise<RouteRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toRoute(c, r)
}

export async function findRouteByHostPath(c: StoreCtx, hostname: string, pathPrefix: string): Promise<RouteRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('host_path_bidx', '=', hostPathIndex(c, hostname, pathPrefix)).executeTakeFirst()
  return r && toRoute(c, r)
}

/**
 * The projects holding routes on `hostname`. Hostnames are sealed, so this opens every route: fine
 * for the control plane's writes, never called per request.
 */
export async function projectsOnHost(c: StoreCtx, hostname: string): Promise<Set<string>> {
  const host = hostname.toLowerCase()
  return new Set((await listRoutes(c)).filter((r) => r.hostname === host).map((r) => r.projectId))
}

export async function listRoutes(c: StoreCtx, filter: {projectId?: string; environmentId?: string; policyId?: string} = {}): Promise<RouteRecord[]> {
  let q = c.db.selectFrom(T).selectAll()
  if (filter.projectId) q = q.where('project_id', '=', filter.projectId)
  if (filter.environmentId) q = q.where('environment_id', '=', filter.environmentId)
  if (filter.policyId) q = q.where('policy_id', '=', filter.policyId)
  return (await q.orderBy('created_at').orderBy('id').execute()).map((r) => toRoute(c, r))
}

/**
 * Up to `limit` routes after `after`, in listRoutes' order (created_at, id): a reader that must
 * not hold the event loop for long (the edge snapshot's full build) opens them a page at a time.
 * The next page starts after {at: Date.parse(last.createdAt), id: last.id}.
 */
export async function listRoutesPage(c: StoreCtx, after: CursorPosition | undefined, limit: number): Promise<RouteRecord[]> {
  let q = c.db.selectFrom(T).selectAll()
  if (after) q = q.where(afterCursor(after))
  return (await q.orderBy('created_at').orderBy('id').limit(limit).execute()).map((r) => toRoute(c, r))
}

export async function updateRoute(c: StoreCtx, id: string, patch: Partial<RouteDoc> & {policyId?: string | null}): Promise<RouteRecord | undefined> {
  const cur = await getRoute(c, id)
  if (!cur) return undefined
  const doc: RouteDoc = {
    hostname: (patch.hostname ?? cur.hostname).toLowerCase(),
    pathPrefix: patch.pathPrefix ?? cur.pathPrefix,
    service: patch.service ?? cur.service,
    bodyLimitBytes: patch.bodyLimitBytes === undefined ? cur.bodyLimitBytes : patch.bodyLimitBytes,
    rateLimitPerMinute: patch.rateLimitPerMinute === undefined ? cur.rateLimitPerMinute : patch.rateLimitPerMinute,
  }
  const policyId = patch.policyId === undefined ? cur.policyId : patch.policyId
  await c.db.updateTable(T).set({
    policy_id: policyId, host_path_bidx: hostPathIndex(c, doc.hostname, doc.pathPrefix), updated_at: Date.now(), doc: c.cipher.sealJson(T, id, doc),
  }).where('id', '=', id).execute()
  return getRoute(c, id)
}

export async function deleteRoute(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}
