import type {Policy, Route} from '../../src/lib/api-types/index.js'
import type {ConfigSource, EdgeSnapshot} from '../edge/config-source.js'
import {configVersion} from '../store/config/meta.js'
import {listPolicies} from '../store/config/policies.js'
import {listRoutes, type RouteRecord} from '../store/config/routes.js'
import type {ControlContext} from './context.js'
import {buildEdgeIdentity} from './edge-identity.js'
import type {ChangeFeed} from './feed.js'
import {transaction} from '../store/db.js'

/** Feed kinds that change what the edge serves. */
const EDGE_KINDS = new Set(['resync', 'route', 'policy', 'project', 'environment', 'user', 'session', 'service-account', 'directory', 'signing-key'])

/** The public URL of a route on an edge listening at `edgePort` (443 is left out). */
export function routeUrl(route: Pick<RouteRecord, 'hostname' | 'pathPrefix'>, edgePort: number | null): string {
  const port = edgePort && edgePort !== 443 ? `:${edgePort}` : ''
  return `https://${route.hostname}${port}${route.pathPrefix === '/' ? '/' : route.pathPrefix}`
}

/**
 * The control plane's ConfigSource for an in-process edge: a snapshot read from the route and
 * policy stores, rebuilt after each committed change and swapped atomically. Rebuilds run one at
 * a time; changes arriving during one are folded into a single next rebuild.
 */
export class StoreConfigSource implements ConfigSource {
  private readonly listeners = new Set<(s: EdgeSnapshot) => void>()
  private unsubscribe: () => void = () => {}
  private seen = 0
  private chain: Promise<void> = Promise.resolve()
  private waiting: Promise<void> | undefined

  private constructor(private readonly ctx: Pick<ControlContext, 'idb' | 'cdb' | 'config'>, private readonly domain: string, private edgePort: number | null, private snapshot: EdgeSnapshot) {}

  static async create(ctx: Pick<ControlContext, 'idb' | 'cdb' | 'config'>, feed: ChangeFeed, domain: string, edgePort: number | null = null): Promise<StoreConfigSource> {
    const source = new StoreConfigSource(ctx, domain, edgePort, await build(ctx, domain, edgePort))
    source.seen = source.snapshot.version
    source.unsubscribe = feed.subscribe(async (e) => {
      source.seen = Math.max(source.seen, e.version)
      if (EDGE_KINDS.has(e.kind)) await source.refresh()
    })
    return source
  }

  /** The edge's port, once bound, so route URLs in the snapshot are right. */
  async setEdgePort(port: number): Promise<void> {
    this.edgePort = port
    await this.refresh()
  }

  /**
   * The newest configuration version this source has been told about: its snapshot's, or a later
   * feed event's that changed nothing the edge serves (a Warpgate registration). The change feed
   * is current when this matches the store.
   */
  get feedVersion(): number {
    return Math.max(this.seen, this.snapshot.version)
  }

  /** Rebuilds and swaps the snapshot; resolves once the edge serves a snapshot at least as new as the stores were when called. */
  refresh(): Promise<void> {
    if (this.waiting !== undefined) return this.waiting
    const next = this.chain.then(async () => {
      this.waiting = undefined
      this.snapshot = await build(this.ctx, this.domain, this.edgePort)
      for (const fn of this.listeners) fn(this.snapshot)
    })
    this.waiting = next
    this.chain = next.catch(() => {})
    return next
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

async function build(ctx: Pick<ControlContext, 'idb' | 'cdb' | 'config'>, domain: string, edgePort: number | null): Promise<EdgeSnapshot> {
  const cdb = ctx.cdb
  // one read transaction, so routes, policies, identity and the version agree with each other
  return transaction(cdb, async () => {
    const version = await configVersion(cdb)
    const routes: Route[] = (await listRoutes(cdb)).map((r) => Object.freeze({...r, url: routeUrl(r, edgePort)}))
    const policies = new Map<string, Policy>((await listPolicies(cdb)).map((p) => [p.id, Object.freeze(p)]))
    return Object.freeze({version, domain, routes: Object.freeze(routes), policies, identity: await buildEdgeIdentity(ctx)})
  })
}
