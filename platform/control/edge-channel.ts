import type {IncomingMessage} from 'node:http'
import type {Duplex} from 'node:stream'
import type {TLSSocket} from 'node:tls'
import type {FastifyInstance} from 'fastify'
import {WebSocketServer, type WebSocket} from 'ws'
import type {RequestLogEntry} from '../../src/lib/api-types/index.js'
import {edgeIdFromSan} from '../../src/protocol/identity.js'
import {LOCAL_EDGE_ID, type TunnelEdge} from '../../src/protocol/tunnel.js'
import type {ConfigSource, EdgeSnapshot} from '../edge/config-source.js'
import type {EdgeAuthority} from '../edge/edge-authority.js'
import {EDGE_CHANNEL_PATH, EDGE_CHANNEL_PROTOCOL, EDGE_METHODS, EDGE_SELF_METHODS, type EdgeMethod, type EdgeSecrets, type RenewCertificateParams, type RenewedCertificate, type EdgeWarpgateLive, type FromEdge, type ToEdge, type WireWarpgate} from '../edge/remote/messages.js'
import {diffSnapshots, encodeSnapshot} from '../edge/remote/wire.js'
import {listWarpgates} from '../store/config/warpgates.js'
import type {ControlContext, EdgeLive, EdgesLiveView, WarpgateLive} from './context.js'
import {ApiError} from './errors.js'
import type {ChangeEvent} from './feed.js'
import {onUpgrade, refuseUpgrade} from './upgrades.js'

/** An edge further behind than this (bytes queued on its socket) is cut off; it reconnects for a fresh snapshot. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024
const PING_EVERY_MS = 5_000
/** Messages an edge sends are small; request logs come in batches. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const MAX_LOG_BATCH = 1_000
/** How often a connected edge's last-seen time (and its tunnel addresses) is written to the store. */
const SEEN_EVERY_MS = 15_000
/**
 * Other control planes on the same store: how often their edges are read from it, and how recently
 * an edge must have been recorded as seen to count as serving (a few missed records' worth).
 */
const PEERS_EVERY_MS = 5_000
const PEER_FRESH_MS = 3 * SEEN_EVERY_MS + PEERS_EVERY_MS

/** Who may hold an edge channel: an enrolled, unrevoked edge, with what it may see of the platform. */
export interface EdgeRegistry {
  /** the edge's name when it may connect now; undefined for unknown, unenrolled or revoked ids */
  admit(edgeId: string): Promise<{name: string} | undefined>
  /** the tunnel addresses of the edge in this process, if one runs here */
  localTunnels(): readonly string[]
  /** records a connection or a status (last seen, address, version, advertised URLs); errors are logged, not fatal */
  seen(edgeId: string, info: {address: string; version: string; edgeUrl: string | null; tunnelUrls: string[]}): Promise<void>
  /** signs a fresh certificate for a connected edge (ApiError when it may not have one) */
  renew(edgeId: string, params: RenewCertificateParams): Promise<RenewedCertificate>
  /**
   * Every unrevoked edge the store has seen, with when and its tunnel addresses: edges connected to
   * other control planes on the same store. Absent when no other control plane can share it (SQLite).
   */
  recorded?(): Promise<Array<{edgeId: string; lastSeenAt: number; tunnelUrls: string[]}>>
}

interface Connected {
  ws: WebSocket
  edgeId: string
  name: string
  since: number
  address: string
  status?: Extract<FromEdge, {t: 'status'}>
  /** when the store last recorded it as seen */
  recordedAt: number
  /** answered the last ping */
  alive: boolean
}

/**
 * The control plane's end of the edge channel (messages.ts): admits edges by their client
 * certificate, sends each a snapshot and then the same feed events and snapshot deltas the
 * in-process edge gets, answers their EdgeAuthority calls, and keeps their live state for
 * `mezu edges list` and `mezu warpgates list`.
 */
export class EdgeChannelServer implements EdgesLiveView {
  private readonly wss = new WebSocketServer({noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false})
  private readonly edges = new Map<WebSocket, Connected>()
  private readonly offs: Array<() => void> = []
  private readonly edgeListeners = new Set<(edges: TunnelEdge[]) => void>()
  private current: EdgeSnapshot
  private warpgates: WireWarpgate[]
  private readonly pinger: NodeJS.Timeout
  private readonly peerTimer?: NodeJS.Timeout
  /** serving edges connected to other control planes on the same store (from `recorded`) */
  private peers: TunnelEdge[] = []
  /** when an edge's channel to this process closed: its store record from before that is stale */
  private readonly goneAt = new Map<string, number>()

  private constructor(
    private readonly ctx: ControlContext,
    private readonly source: ConfigSource,
    private readonly authority: EdgeAuthority,
    private readonly registry: EdgeRegistry,
    private readonly secrets: EdgeSecrets,
    warpgates: WireWarpgate[],
  ) {
    this.current = source.get()
    this.warpgates = warpgates
    this.pinger = setInterval(() => this.ping(), PING_EVERY_MS)
    this.pinger.unref()
    if (registry.recorded) {
      this.peerTimer = setInterval(() => void this.refreshPeers(), PEERS_EVERY_MS)
      this.peerTimer.unref()
    }
  }

  static async attach(app: FastifyInstance, ctx: ControlContext, source: ConfigSource, authority: EdgeAuthority, registry: EdgeRegistry): Promise<EdgeChannelServer> {
    const secrets: EdgeSecrets = {
      tokenHashKey: ctx.stores.hasher.exportTokenKey().toString('base64'),
      csrfKey: edgeCsrfKey(ctx).toString('base64'),
    }
    const server = new EdgeChannelServer(ctx, source, authority, registry, secrets, await admittedWarpgates(ctx))
    server.offs.push(source.onChange((s) => server.onSnapshot(s)))
    server.offs.push(ctx.feed.subscribe((e) => server.onEvent(e)))
    onUpgrade(app, EDGE_CHANNEL_PATH, (req, socket, head) => server.upgrade(req, socket, head))
    await server.refreshPeers()
    return server
  }

  /**
   * Reads the edges other control planes on the same store keep (recorded as seen lately) and tells
   * edges and Warpgates when that set changed, so a Warpgate registered here also dials edges whose
   * channel is held by another control plane.
   */
  async refreshPeers(): Promise<void> {
    if (!this.registry.recorded) return
    let recorded
    try {
      recorded = await this.registry.recorded()
    } catch (error) {
      // the store is away: keep the last list; the next round tries again
      this.ctx.log.debug({err: error}, 'could not read the edges of other control planes')
      return
    }
    const now = Date.now()
    const here = new Set(this.connectedIds())
    const peers = recorded
      .filter((e) => !here.has(e.edgeId) && e.tunnelUrls.length > 0 && now - e.lastSeenAt < PEER_FRESH_MS && e.lastSeenAt > (this.goneAt.get(e.edgeId) ?? 0))
      .sort((a, b) => (a.edgeId < b.edgeId ? -1 : 1))
      .map((e) => ({edge: e.edgeId, urls: [...e.tunnelUrls]}))
    if (JSON.stringify(peers) === JSON.stringify(this.peers)) return
    this.peers = peers
    this.announceEdges()
  }

  live(edgeId: string): EdgeLive | undefined {
    for (const c of this.edges.values()) {
      if (c.edgeId !== edgeId) continue
      return {
        connectedSince: c.since, address: c.address, version: c.status?.version ?? null,
        configVersion: c.status?.configVersion ?? this.current.version,
        warpgateConnections: c.status?.warpgates.reduce((n, w) => n + w.connections, 0) ?? 0,
      }
    }
    return undefined
  }

  /** One Warpgate's connections at every remote edge, summed. */
  warpgateLive(id: string): WarpgateLive | undefined {
    let out: WarpgateLive | undefined
    for (const c of this.edges.values()) {
      const w = c.status?.warpgates.find((x) => x.id === id)
      if (!w) continue
      out = out ?? {connections: 0, healthy: false, remoteIps: [], version: null, connectedSince: null}
      out.connections += w.connections
      out.healthy ||= w.healthy
      out.remoteIps = [...new Set([...out.remoteIps, ...w.remoteIps])]
      out.version ??= w.version
      if (w.connectedSince !== null) out.connectedSince = Math.min(out.connectedSince ?? w.connectedSince, w.connectedSince)
    }
    return out
  }

  /** The edges connected now, e.g. to tell Warpgates. */
  connectedIds(): string[] {
    return [...new Set([...this.edges.values()].map((c) => c.edgeId))]
  }

  /** Closes one edge's channel (revocation). */
  disconnect(edgeId: string, reason: string): void {
    for (const c of this.edges.values()) if (c.edgeId === edgeId) c.ws.close(4003, reason)
  }

  /** The tunnel addresses of every edge serving now: this process's and each connected edge node's. */
  tunnelEdges(): TunnelEdge[] {
    const out: TunnelEdge[] = []
    const local = this.registry.localTunnels()
    if (local.length > 0) out.push({edge: LOCAL_EDGE_ID, urls: [...local]})
    const seen = new Set<string>()
    for (const c of this.edges.values()) {
      if (seen.has(c.edgeId) || !c.status || c.status.tunnelUrls.length === 0) continue
      seen.add(c.edgeId)
      out.push({edge: c.edgeId, urls: [...c.status.tunnelUrls]})
    }
    for (const p of this.peers) if (!seen.has(p.edge)) out.push({edge: p.edge, urls: [...p.urls]})
    return out
  }

  /** Called whenever the set of serving edges or their tunnel addresses changes (Warpgates are told). */
  onEdgesChanged(fn: (edges: TunnelEdge[]) => void): () => void {
    this.edgeListeners.add(fn)
    return () => this.edgeListeners.delete(fn)
  }

  /** Tells every edge the current tunnel addresses of all edges. */
  announceEdges(): void {
    const edges = this.tunnelEdges()
    for (const fn of this.edgeListeners) fn(edges)
    this.broadcast(JSON.stringify({t: 'edges', edges: this.tunnelEdges()} satisfies ToEdge))
  }

  close(): void {
    for (const off of this.offs.splice(0)) off()
    clearInterval(this.pinger)
    clearInterval(this.peerTimer)
    this.edgeListeners.clear()
    for (const ws of this.wss.clients) ws.terminate()
    this.wss.close()
  }

  private upgrade(req: IncomingMessage, duplex: Duplex, head: Buffer): void {
    const socket = duplex as TLSSocket
    const tls = socket
    const onError = () => socket.destroy()
    socket.on('error', onError)
    const edgeId = tls.authorized ? edgeIdFromSan(tls.getPeerCertificate().subjectaltname) : undefined
    if (!edgeId) {
      this.ctx.log.info({ip: socket.remoteAddress, reason: tls.authorizationError ?? 'no edge certificate'}, 'edge channel refused')
      return refuseUpgrade(socket, new ApiError('unauthenticated', 'the edge channel needs an enrolled edge\'s client certificate'))
    }
    if (req.headers['sec-websocket-protocol'] !== EDGE_CHANNEL_PROTOCOL) {
      return refuseUpgrade(socket, new ApiError('invalid_request', `the edge channel speaks ${EDGE_CHANNEL_PROTOCOL} only; upgrade the edge or the control plane so both match`))
    }
    this.registry.admit(edgeId).then(
      (edge) => {
        if (!edge) {
          this.ctx.log.info({edgeId, ip: socket.remoteAddress}, 'edge channel refused: unknown or revoked edge')
          return refuseUpgrade(socket, new ApiError('forbidden', `edge ${edgeId} is not enrolled or is revoked`))
        }
        socket.off('error', onError)
        this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, edgeId, edge.name, socket.remoteAddress ?? ''))
      },
      (error: unknown) => {
        this.ctx.log.error({err: error, edgeId}, 'edge channel admission failed')
        refuseUpgrade(socket, error instanceof ApiError ? error : new ApiError('store_unavailable', 'the control plane cannot check the edge now'))
      },
    )
  }

  private serve(ws: WebSocket, edgeId: string, name: string, address: string): void {
    const c: Connected = {ws, edgeId, name, since: Date.now(), address, recordedAt: 0, alive: true}
    this.edges.set(ws, c)
    ws.on('pong', () => (c.alive = true))
    const hello: ToEdge = {
      t: 'hello', edgeId, name, snapshot: encodeSnapshot(this.current), secrets: this.secrets,
      warpgates: this.warpgates, tunnelEdges: this.tunnelEdges(),
    }
    ws.send(JSON.stringify(hello))
    this.ctx.log.info({edgeId, name, address}, 'edge connected')
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text messages only')
      let msg: FromEdge
      try {
        msg = JSON.parse(data.toString()) as FromEdge
      } catch {
        return ws.close(1007, 'not JSON')
      }
      this.onMessage(c, msg)
    })
    ws.on('close', () => {
      this.edges.delete(ws)
      // a record of this edge written before now no longer says it serves (it may be on another control plane later)
      this.goneAt.set(edgeId, Date.now())
      if (c.status) this.announceEdges()
      this.ctx.log.info({edgeId, name}, 'edge disconnected')
    })
    ws.on('error', () => ws.terminate())
  }

  private onMessage(c: Connected, msg: FromEdge): void {
    if (typeof msg !== 'object' || msg === null) return c.ws.close(1007, 'not a message')
    if (msg.t === 'req') return void this.answer(c, msg)
    if (msg.t === 'status') {
      if (!isStatus(msg)) return c.ws.close(1007, 'a malformed status')
      const moved = c.status?.tunnelUrls.join(' ') !== msg.tunnelUrls.join(' ')
      c.status = msg
      if (moved) this.announceEdges()
      if (Date.now() - c.recordedAt > SEEN_EVERY_MS) {
        c.recordedAt = Date.now()
        this.registry.seen(c.edgeId, {address: c.address, version: msg.version, edgeUrl: msg.edgeUrl, tunnelUrls: msg.tunnelUrls})
          .catch((error: unknown) => this.ctx.log.warn({err: error, edgeId: c.edgeId}, 'could not record the edge as seen'))
      }
      return
    }
    if (msg.t === 'log') {
      if (!Array.isArray(msg.entries) || msg.entries.length > MAX_LOG_BATCH) return c.ws.close(1007, 'a malformed log batch')
      for (const e of msg.entries) if (isLogEntry(e)) this.ctx.requestLog?.append(e)
      return
    }
    c.ws.close(1007, 'an unknown message')
  }

  private async answer(c: Connected, msg: Extract<FromEdge, {t: 'req'}>): Promise<void> {
    const reply = (r: Omit<Extract<ToEdge, {t: 'res'}>, 't' | 'id'>) => {
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify({t: 'res', id: msg.id, ...r}))
    }
    const self = (EDGE_SELF_METHODS as readonly string[]).includes(msg.method)
    if (!Number.isSafeInteger(msg.id) || !(self || (EDGE_METHODS as readonly string[]).includes(msg.method)) || typeof msg.params !== 'object' || msg.params === null) {
      return reply({error: {code: 'invalid_request', message: `unknown method or malformed parameters: ${String(msg.method).slice(0, 40)}`}})
    }
    const params = msg.params as Record<string, unknown>
    const call = self ? undefined : DISPATCH[msg.method as EdgeMethod]
    const bad = call?.strings.find((k) => typeof params[k] !== 'string' || (params[k] as string).length > 4096)
    if (bad) return reply({error: {code: 'invalid_request', message: `${msg.method}: ${bad} must be a string`}})
    try {
      // the edge's identity is its channel's client certificate, never a parameter
      const result = call ? await call.run(this.authority, params) : await this.registry.renew(c.edgeId, params as unknown as RenewCertificateParams)
      reply({result: result ?? null})
    } catch (error) {
      if (!(error instanceof ApiError)) this.ctx.log.error({err: error, edgeId: c.edgeId, method: msg.method}, 'an edge call failed')
      reply({error: {code: error instanceof ApiError ? error.code : 'internal', message: error instanceof ApiError ? error.message : 'internal error'}})
    }
  }

  private onSnapshot(next: EdgeSnapshot): void {
    const prev = this.current
    this.current = next
    if (this.edges.size === 0 || prev === next) return
    this.broadcast(JSON.stringify({t: 'delta', delta: diffSnapshots(prev, next)} satisfies ToEdge))
  }

  private async onEvent(e: ChangeEvent): Promise<void> {
    if (this.edges.size > 0) this.broadcast(JSON.stringify({t: 'event', event: {version: e.version, kind: e.kind, id: e.id, action: e.action}} satisfies ToEdge))
    if (e.kind === 'warpgate' || ((e.kind === 'project' || e.kind === 'environment') && e.action === 'deleted') || e.kind === 'resync') {
      const before = this.warpgates
      const now = await admittedWarpgates(this.ctx)
      this.warpgates = now
      const ids = new Set(now.map((w) => w.id))
      const revoked = before.filter((w) => !ids.has(w.id)).map((w) => w.id)
      this.broadcast(JSON.stringify({t: 'warpgates', items: now, revoked} satisfies ToEdge))
    }
    if (e.kind === 'edge' || e.kind === 'resync') {
      if (e.id && e.action === 'revoked') this.disconnect(e.id, 'the edge was revoked')
      this.announceEdges()
    }
  }

  private broadcast(text: string): void {
    for (const c of this.edges.values()) {
      if (c.ws.readyState !== c.ws.OPEN) continue
      if (c.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        c.ws.close(1013, 'too far behind; reconnect for a fresh snapshot')
        continue
      }
      c.ws.send(text)
    }
  }

  private ping(): void {
    for (const c of this.edges.values()) {
      if (!c.alive) {
        c.ws.terminate()
        continue
      }
      c.alive = false
      c.ws.ping()
    }
  }
}

/** How each edge call maps onto EdgeAuthority, with the string parameters it must carry. */
const DISPATCH: Record<EdgeMethod, {strings: string[]; run(a: EdgeAuthority, p: Record<string, unknown>): Promise<unknown>}> = {
  login: {strings: ['email', 'password', 'ip'], run: (a, p) => a.login(p as Parameters<EdgeAuthority['login']>[0])},
  touchSessions: {
    strings: [],
    run: (a, p) => {
      const entries = Array.isArray(p.entries) ? (p.entries as Array<{id: unknown; at: unknown}>).filter((e) => typeof e?.id === 'string' && Number.isSafeInteger(e.at)) : []
      return a.touchSessions((entries as Array<{id: string; at: number}>).slice(0, 100_000))
    },
  },
  logout: {strings: ['token'], run: (a, p) => a.logout(p.token as string)},
  invitation: {strings: ['code'], run: (a, p) => a.invitation(p.code as string)},
  acceptInvitation: {strings: ['code', 'password', 'ip'], run: (a, p) => a.acceptInvitation(p as Parameters<EdgeAuthority['acceptInvitation']>[0])},
  deviceLogin: {strings: ['userCode', 'userId', 'ip'], run: (a, p) => a.deviceLogin(p as Parameters<EdgeAuthority['deviceLogin']>[0])},
  decideDeviceLogin: {strings: ['userCode', 'userId', 'ip'], run: (a, p) => a.decideDeviceLogin({...(p as Parameters<EdgeAuthority['decideDeviceLogin']>[0]), approve: p.approve === true})},
  issueCallbackCode: {strings: ['token', 'host', 'returnUrl'], run: (a, p) => a.issueCallbackCode(p as Parameters<EdgeAuthority['issueCallbackCode']>[0])},
  consumeCallbackCode: {strings: ['code', 'host'], run: (a, p) => a.consumeCallbackCode(p as Parameters<EdgeAuthority['consumeCallbackCode']>[0])},
}

/** The CSRF key every edge of this platform shares (derived, so every control plane gives the same one). */
export function edgeCsrfKey(ctx: ControlContext): Buffer {
  return ctx.stores.hasher.deriveKey('edge-csrf')
}

async function admittedWarpgates(ctx: ControlContext): Promise<WireWarpgate[]> {
  return (await listWarpgates(ctx.cdb))
    .filter((w) => w.revokedAt === null && w.registeredAt !== null)
    .map((w) => ({id: w.id, name: w.name, projectId: w.projectId, environmentId: w.environmentId, service: w.service}))
}

function isStatus(m: Extract<FromEdge, {t: 'status'}>): boolean {
  return typeof m.version === 'string' && m.version.length < 64 && Number.isSafeInteger(m.configVersion)
    && (m.edgeUrl === null || (typeof m.edgeUrl === 'string' && m.edgeUrl.length < 512))
    && Array.isArray(m.tunnelUrls) && m.tunnelUrls.length <= 8 && m.tunnelUrls.every((u) => typeof u === 'string' && u.length < 512)
    && Array.isArray(m.warpgates) && m.warpgates.length <= 100_000 && m.warpgates.every(isWarpgateLive)
}

function isWarpgateLive(w: EdgeWarpgateLive): boolean {
  return typeof w === 'object' && w !== null && typeof w.id === 'string' && Number.isSafeInteger(w.connections) && typeof w.healthy === 'boolean' && Array.isArray(w.remoteIps)
}

function isLogEntry(e: RequestLogEntry): boolean {
  return typeof e === 'object' && e !== null && typeof e.time === 'string' && typeof e.requestId === 'string' && typeof e.host === 'string' && typeof e.path === 'string' && Number.isInteger(e.status)
    && typeof e.method === 'string' && typeof e.clientIp === 'string' && typeof e.protocol === 'string' && (e.routeId === null || typeof e.routeId === 'string')
}
