import type {IncomingMessage} from 'node:http'
import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import {WebSocketServer, type WebSocket} from 'ws'
import type {LogsResponse, Principal, RequestLogEntry} from '../../../src/lib/api-types/index.js'
import {listRoutes} from '../../store/config/routes.js'
import {projectReach, requireScope} from '../access.js'
import {authenticate} from '../auth.js'
import type {ControlContext} from '../context.js'
import {ApiError} from '../errors.js'
import {onUpgrade, refuseUpgrade} from '../upgrades.js'

export const LOGS_FOLLOW_PATH = '/v1/logs/follow'
const MAX_LIMIT = 1000
/** A follower this far behind is cut off: the log never slows the edge down. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** How often a follower's credentials are checked again (and the socket pinged). */
const RECHECK_MS = 30_000

const LogsQuery = Type.Object(
  {
    route: Type.Optional(Type.String({minLength: 1, maxLength: 253})),
    limit: Type.Optional(Type.String({pattern: '^[0-9]{1,4}$'})),
  },
  {additionalProperties: false},
)
type LogsQueryT = Static<typeof LogsQuery>

/**
 * Which entries a principal may see: those of routes in projects within reach (all, including
 * requests that matched no route, for owners, admins and unscoped service accounts), narrowed to
 * one route (by id or hostname) when asked.
 */
async function entryFilter(ctx: ControlContext, p: Principal, route: string | undefined): Promise<(e: RequestLogEntry) => boolean> {
  const reach = await projectReach(ctx, p)
  const routes = reach === undefined ? await listRoutes(ctx.cdb) : []
  for (const projectId of reach ?? []) routes.push(...(await listRoutes(ctx.cdb, {projectId})))
  if (route !== undefined) {
    const wanted = route.toLowerCase()
    const ids = new Set(routes.filter((r) => r.id === route || r.hostname === wanted).map((r) => r.id))
    if (ids.size === 0) throw new ApiError('not_found', `route "${route}" not found`, 'route')
    return (e) => e.routeId !== null && ids.has(e.routeId)
  }
  if (reach === undefined) return () => true
  const ids = new Set(routes.map((r) => r.id))
  return (e) => e.routeId !== null && ids.has(e.routeId)
}

function parseLimit(raw: string | undefined, fallback: number, min: number): number {
  const limit = raw === undefined ? fallback : Number(raw)
  if (!Number.isInteger(limit) || limit < min || limit > MAX_LIMIT) throw new ApiError('invalid_request', `limit must be from ${min} to ${MAX_LIMIT}`, 'limit')
  return limit
}

/** GET /v1/logs and the ws follow stream at /v1/logs/follow (scope logs:read). */
export function registerLogRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: LogsQueryT}>('/v1/logs', {schema: {querystring: LogsQuery}}, async (req): Promise<LogsResponse> => {
    const p = req.principal!
    requireScope(p, 'logs:read')
    const limit = parseLimit(req.query.limit, 100, 1)
    const filter = await entryFilter(ctx, p, req.query.route)
    return {items: ctx.requestLog?.recent(limit, filter) ?? []}
  })

  // The follow stream rides the API's own HTTPS server (same TLS 1.3 listener and certificate).
  const wss = new WebSocketServer({noServer: true, maxPayload: 1024, perMessageDeflate: false})
  onUpgrade(app, LOGS_FOLLOW_PATH, (req, socket, head, url) => {
    // The HTTP server stops listening for the socket's errors at an upgrade: until ws takes the
    // socket over, a client that goes away while it is being admitted must not crash the process.
    const onError = () => socket.destroy()
    socket.on('error', onError)
    admitFollower(ctx, req, url).then(
      (follower) => {
        socket.off('error', onError)
        wss.handleUpgrade(req, socket, head, (ws) => serveFollower(ctx, ws, req, follower))
      },
      (error: unknown) => {
        refuseUpgrade(socket, error instanceof ApiError ? error : new ApiError('internal', 'internal error'))
        if (!(error instanceof ApiError)) ctx.log.error({err: error}, 'log follow upgrade failed')
      },
    )
  })
  app.addHook('preClose', async () => {
    for (const ws of wss.clients) ws.terminate()
    wss.close()
  })
}

async function admitFollower(ctx: ControlContext, req: IncomingMessage, url: URL) {
  for (const k of url.searchParams.keys()) if (k !== 'route' && k !== 'limit') throw new ApiError('invalid_request', `query: unknown field "${k}"`, k)
  const principal = await authenticate(ctx, {headers: req.headers} as FastifyRequest)
  requireScope(principal, 'logs:read')
  const route = url.searchParams.get('route') ?? undefined
  if (route !== undefined && (route.length < 1 || route.length > 253)) throw new ApiError('invalid_request', 'route must be 1 to 253 characters', 'route')
  const backlog = parseLimit(url.searchParams.get('limit') ?? undefined, 0, 0)
  return {principal, filter: await entryFilter(ctx, principal, route), backlog, route}
}

function serveFollower(ctx: ControlContext, ws: WebSocket, req: IncomingMessage, f: Awaited<ReturnType<typeof admitFollower>>): void {
  const log = ctx.requestLog
  const send = (e: RequestLogEntry) => {
    if (!f.filter(e)) return
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.close(1013, 'too far behind; follow again')
      return
    }
    ws.send(JSON.stringify(e))
  }
  // Backlog and subscription happen in the same tick, so nothing falls between them.
  for (const e of log?.recent(f.backlog, f.filter) ?? []) send(e)
  const unsubscribe = log?.subscribe(send) ?? (() => {})
  // Routes created or moved after the follower connected change what it may see. The feed awaits
  // this, so a write answers only once followers filter by it; of overlapping rebuilds, the last
  // one started wins.
  let rebuilds = 0
  const unfeed = ctx.feed.subscribe(async () => {
    const mine = ++rebuilds
    try {
      const filter = await entryFilter(ctx, f.principal, f.route)
      if (mine === rebuilds) f.filter = filter
    } catch (error) {
      if (mine === rebuilds) ws.close(1008, error instanceof ApiError ? error.message.slice(0, 120) : 'no longer allowed')
    }
  })
  // A session revoked or expired while following ends the stream.
  let alive = true
  const recheck = async () => {
    try {
      f.principal = await authenticate(ctx, {headers: req.headers} as FastifyRequest)
      requireScope(f.principal, 'logs:read')
    } catch {
      ws.close(1008, 'credentials no longer valid')
      return
    }
    if (ws.readyState !== ws.OPEN) return
    if (!alive) return ws.terminate()
    alive = false
    ws.ping()
  }
  // not awaited: a timer; recheck settles every failure itself (by closing the stream)
  const timer = setInterval(() => void recheck(), RECHECK_MS)
  timer.unref()
  ws.on('pong', () => (alive = true))
  ws.on('close', () => {
    unsubscribe()
    unfeed()
    clearInterval(timer)
  })
  ws.on('error', () => ws.terminate())
}

