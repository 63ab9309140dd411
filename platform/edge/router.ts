import type {Route} from '../../src/lib/api-types/index.js'
import {normalisePath as normaliseTarget, originReadings} from './path.js'

/** Routes by hostname, each host's routes ordered longest path prefix first. Built once per snapshot. */
export interface RouteTable {
  match(host: string, path: string): Route | undefined
}

/** Lower case, no port, no trailing dot; undefined when it is not a plausible host name. */
export function normaliseHost(host: string | undefined): string | undefined {
  if (!host) return undefined
  let h = host.trim().toLowerCase()
  if (h.startsWith('[')) return undefined // IP literals never name a route
  const colon = h.lastIndexOf(':')
  if (colon >= 0) h = h.slice(0, colon)
  if (h.endsWith('.')) h = h.slice(0, -1)
  return /^[a-z0-9.-]{1,253}$/.test(h) ? h : undefined
}

/**
 * The path as routing sees it: the same normalisation the gate's policy check uses (path.ts), so
 * every spelling of a path (`/%61dmin`, `//admin`, `/api/../admin`) reaches the route its policy
 * guards. Undefined for a request target that is refused (not a path, or ambiguous).
 */
export function normalisePath(target: string | undefined): {path: string; search: string} | undefined {
  const p = normaliseTarget(target ?? '')
  if (!p.ok) return undefined
  return {path: p.path, search: p.query === null ? '' : `?${p.query}`}
}

function trimPrefix(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
}

/** Does `path` sit under `prefix` on a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`)? */
export function underPrefix(path: string, prefix: string): boolean {
  const p = trimPrefix(prefix)
  if (p === '/') return true
  return path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 47 /* / */)
}

/**
 * Compiles routes into a table: exact host first, then the longest matching path prefix. A host
 * serves only the project of its oldest route: the control plane refuses a second project on a
 * host, and a store written before that rule must not let one project claim another's paths.
 */
export function buildRouteTable(routes: readonly Route[]): RouteTable {
  const byHost = new Map<string, Route[]>()
  const oldestFirst = [...routes].sort((a, b) => a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1)
  for (const r of oldestFirst) {
    const list = byHost.get(r.hostname)
    if (!list) byHost.set(r.hostname, [r])
    else if (list[0].projectId === r.projectId) list.push(r)
  }
  for (const list of byHost.values()) list.sort((a, b) => trimPrefix(b.pathPrefix).length - trimPrefix(a.pathPrefix).length)
  return {
    match(host, path) {
      const list = byHost.get(host)
      return list?.find((r) => underPrefix(path, r.pathPrefix))
    },
  }
}

/**
 * The route for host + path, or 'ambiguous' when an origin may read the path as one under another
 * route (path.ts originReadings): the edge would apply one route's policy to what the origin
 * serves as another's, so the request is refused instead.
 */
export function matchRoute(table: RouteTable, host: string, path: string): Route | undefined | 'ambiguous' {
  const route = table.match(host, path)
  if (route === undefined) return undefined
  for (const other of originReadings(path)) if (table.match(host, other) !== route) return 'ambiguous'
  return route
}
