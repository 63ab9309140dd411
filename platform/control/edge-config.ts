import type {Policy, Route} from '../../src/lib/api-types/index.js'
import type {ConfigSource, EdgeSnapshot} from '../edge/config-source.js'
import {configVersion} from '../store/config/meta.js'
import {listPolicies} from '../store/config/policies.js'
import {listRoutes, type RouteRecord} from '../store/config/routes.js'
import type {ControlContext} from './context.js'
import {buildEdgeIdentity} from './edge-identity.js'
import type {ChangeFeed} from './feed.js'

/** Feed kinds that change what the edge serves. */
const EDGE_KINDS = new Set(['route', 'policy', 'project', 'environment', 'user', 'session', 'service-account', 'directory', 'signing-key'])

/** The public URL of a route on an edge listening at `edgePort` (443 is left out). */
export function routeUrl(route: Pick<RouteRecord, 'hostname' | 'pathPrefix'>, edgePort: number | null): string {
  const port = edgePort && edgePort !== 443 ? `:${edgePort}` : ''
  return `https://${route.hostname}${port}${route.pathPrefix === '/' ? '/' : route.pathPrefix}`
}

/**
 * The control plane's ConfigSource for an in-process edge: a snapshot read from the route and
 * policy stores, rebuilt whole after each committed change and swapped atomically.
 */
export class StoreConfigSource implements ConfigSource {
  private snapshot: EdgeSnapshot
  private readonly listeners = new Set<(s: EdgeSnapshot) => void>()
  private readonly unsubscribe: () => void
  private seen: number

  constructor(private readonly ctx: Pick<ControlContext, 'idb' | 'cdb' | 'config'>, feed: ChangeFeed, private readonly domain: string, private edgePort: number | null = null) {
    this.snapshot = this.build()
    this.seen = this.snapshot.version
    this.unsubscribe = feed.subscribe((e) => {
      this.seen = Math.max(this.seen, e.version)
      if (EDGE_KINDS.has(e.kind)) this.refresh()
    })
  }

  /** The edge's port, once bound, so route URLs in the snapshot are right. */
  setEdgePort(port: number): void {
    this.edgePort = port
    this.refresh()
  }

  private build(): EdgeSnapshot {
    const cdb = this.ctx.cdb
    const routes: Route[] = listRoutes(cdb).map((r) => Object.freeze({...r, url: routeUrl(r, this.edgePort)}))
    const policies = new Map<string, Policy>(listPolicies(cdb).map((p) => [p.id, Object.freeze(p)]))
    return Object.freeze({version: configVersion(cdb.db), domain: this.domain, routes: Object.freeze(routes), policies, identity: buildEdgeIdentity(this.ctx)})
  }

  /**
   * The newest configuration version this source has been told about: its snapshot's, or a later
   * feed event's that changed nothing the edge serves (a Warpgate registration). The change feed
   * is current when this matches the store.
   */
  get feedVersion(): number {
    return Math.max(this.seen, this.snapshot.version)
  }

  refresh(): void {
    this.snapshot = this.build()
    for (const fn of this.listeners) fn(this.snapshot)
  }

  get(): EdgeSnapshot {
    return this.snapshot
  }

  onChange(listener: (snapshot: EdgeSnapshot) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.unsubscribe()
    this.listeners.clear()
  }
}
