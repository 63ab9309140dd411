import type {Route} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from './projects.js'

interface Row {
  id: string
  project_id: string
  environment_id: string
  policy_id: string | null
  created_at: number
  updated_at: number
  doc: Buffer
}
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

export function createRoute(c: StoreCtx, input: {projectId: string; environmentId: string; policyId: string | null} & RouteDoc): RouteRecord {
  const id = newId('route')
  const now = Date.now()
  const doc: RouteDoc = {hostname: input.hostname.toLowerCase(), pathPrefix: input.pathPrefix, service: input.service, bodyLimitBytes: input.bodyLimitBytes, rateLimitPerMinute: input.rateLimitPerMinute}
  c.db.prepare(`INSERT INTO ${T} (id, project_id, environment_id, policy_id, host_path_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
    id, input.projectId, input.environmentId, input.policyId, hostPathIndex(c, doc.hostname, doc.pathPrefix), now, now, c.cipher.sealJson(T, id, doc),
  )
  return getRoute(c, id)!
}

export function getRoute(c: StoreCtx, id: string): RouteRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toRoute(c, r)
}

export function findRouteByHostPath(c: StoreCtx, hostname: string, pathPrefix: string): RouteRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE host_path_bidx = ?`).get(hostPathIndex(c, hostname, pathPrefix)) as Row | undefined
  return r && toRoute(c, r)
}

/**
 * The projects holding routes on `hostname`. Hostnames are sealed, so this opens every route: fine
 * for the control plane's writes, never called per request.
 */
export function projectsOnHost(c: StoreCtx, hostname: string): Set<string> {
  const host = hostname.toLowerCase()
  return new Set(listRoutes(c).filter((r) => r.hostname === host).map((r) => r.projectId))
}

export function listRoutes(c: StoreCtx, filter: {projectId?: string; environmentId?: string; policyId?: string} = {}): RouteRecord[] {
  const where: string[] = []
  const params: string[] = []
  if (filter.projectId) (where.push('project_id = ?'), params.push(filter.projectId))
  if (filter.environmentId) (where.push('environment_id = ?'), params.push(filter.environmentId))
  if (filter.policyId) (where.push('policy_id = ?'), params.push(filter.policyId))
  const sql = `SELECT * FROM ${T} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`
  return (c.db.prepare(sql).all(...params) as Row[]).map((r) => toRoute(c, r))
}

export function updateRoute(c: StoreCtx, id: string, patch: Partial<RouteDoc> & {policyId?: string | null}): RouteRecord | undefined {
  const cur = getRoute(c, id)
  if (!cur) return undefined
  const doc: RouteDoc = {
    hostname: (patch.hostname ?? cur.hostname).toLowerCase(),
    pathPrefix: patch.pathPrefix ?? cur.pathPrefix,
    service: patch.service ?? cur.service,
    bodyLimitBytes: patch.bodyLimitBytes === undefined ? cur.bodyLimitBytes : patch.bodyLimitBytes,
    rateLimitPerMinute: patch.rateLimitPerMinute === undefined ? cur.rateLimitPerMinute : patch.rateLimitPerMinute,
  }
  const policyId = patch.policyId === undefined ? cur.policyId : patch.policyId
  c.db.prepare(`UPDATE ${T} SET policy_id = ?, host_path_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(
    policyId, hostPathIndex(c, doc.hostname, doc.pathPrefix), Date.now(), c.cipher.sealJson(T, id, doc), id,
  )
  return getRoute(c, id)
}

export function deleteRoute(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}
