import {EventEmitter} from 'node:events'
import WebSocket from 'ws'
import type {RequestLogEntry} from '../../../src/lib/api-types/index.js'
import {controlServerIdentity, NOT_CONTROL_PLANE} from '../../../src/protocol/control-identity.js'
import type {TunnelEdge} from '../../../src/protocol/tunnel.js'
import type {ConfigSource, EdgeSnapshot} from '../config-source.js'
import type {ChangeEvents, EdgeChangeEvent, EdgeSigningKey} from '../identity-snapshot.js'
import {EDGE_CHANNEL_PATH, EDGE_CHANNEL_PROTOCOL, type EdgeMethod, type EdgeSecrets, type EdgeSelfMethod, type FromEdge, type ToEdge, type WireWarpgate} from './messages.js'
import {applyDelta, decodeSnapshot} from './wire.js'
import {AuthorityUnavailable} from '../edge-authority.js'

export interface ControlChannelOptions {
  /** the control plane's API base URL, https://host:port */
  controlUrl: string
  /** the edge's enrolment key and certificate, and the pinned platform CA */
  tls: {key: string; cert: string; ca: string}
  /** the key this edge signs assertions with */
  signingKey: EdgeSigningKey
  /** what the edge reports every few seconds */
  status(): Omit<Extract<FromEdge, {t: 'status'}>, 't' | 'configVersion'>
  /** reconnect backoff; default full jitter 0.25–5 s */
  nextDelay?: (attempt: number) => number
  log?: {info(o: object, msg: string): void; warn(o: object, msg: string): void}
}

/** A call the control plane answered with an error (it names the reason). */
export class ControlCallError extends Error {
  override name = 'ControlCallError'
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

const CALL_TIMEOUT_MS = 10_000
const STATUS_EVERY_MS = 2_000
const LOG_FLUSH_MS = 250
const MAX_LOG_QUEUE = 10_000

/**
 * The edge's end of the edge channel (messages.ts): the ConfigSource and change events of a remote
 * edge, and the way its EdgeAuthority calls reach the control plane. It keeps its last snapshot
 * while the control plane is away, so the edge goes on serving; each reconnection starts with a
 * fresh snapshot, which is also how a gap in versions is repaired.
 */
export class ControlChannel extends EventEmitter<{warpgates: [WireWarpgate[], string[]]; edges: [TunnelEdge[]]; refused: [string]; connected: []}> implements ConfigSource, ChangeEvents {
  private snapshot?: EdgeSnapshot
  private ws?: WebSocket
  private readonly snapshotListeners = new Set<(s: EdgeSnapshot) => void>()
  private readonly eventListeners = new Set<(e: EdgeChangeEvent) => void>()
  private readonly pending = new Map<number, {resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout}>()
  private nextId = 1
  private stopped = false
  private attempt = 0
  private retryTimer?: NodeJS.Timeout
  private statusTimer?: NodeJS.Timeout
  private logTimer?: NodeJS.Timeout
  private logQueue: RequestLogEntry[] = []
  private first?: {resolve(): void; reject(e: Error): void}
  secrets?: EdgeSecrets
  warpgates: WireWarpgate[] = []
  tunnelEdges: TunnelEdge[] = []
  edgeId?: string
  /** when the channel last came up, and when it last went down (null while up) */
  connectedSince: number | null = null
  disconnectedSince: number | null = Date.now()

  private readonly serverIdentity: ReturnType<typeof controlServerIdentity>

  constructor(private readonly opts: ControlChannelOptions) {
    super()
    this.serverIdentity = controlServerIdentity(opts.tls.ca, opts.controlUrl)
  }

  /** Connects and resolves with the first snapshot; rejects only on a refusal that retrying cannot fix (revoked, unknown edge). */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => (this.first = {resolve, reject}))
    this.connect()
    return ready
  }

  get connected(): boolean {
    return this.connectedSince !== null
  }

  get(): EdgeSnapshot {
    if (!this.snapshot) throw new Error('no snapshot from the control plane yet')
    return this.snapshot
  }

  onChange(listener: (snapshot: EdgeSnapshot) => void): () => void {
    this.snapshotListeners.add(listener)
    return () => this.snapshotListeners.delete(listener)
  }

  subscribe(listener: (event: EdgeChangeEvent) => void): () => void {
    this.eventListeners.add(listener)
    return () => this.eventListeners.delete(listener)
  }

  /** Calls an EdgeAuthority method (or one about this edge itself) on the control plane. */
  call<T>(method: EdgeMethod | EdgeSelfMethod, params: object): Promise<T> {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.connected) return Promise.reject(new AuthorityUnavailable('the control plane is unreachable from this edge'))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new AuthorityUnavailable(`the control plane did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s`))
      }, CALL_TIMEOUT_MS)
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, timer})
      ws.send(JSON.stringify({t: 'req', id, method, params} satisfies FromEdge))
    })
  }

  /** Queues a request-log entry for the control plane (`mezu logs`); dropped when too many wait. */
  log(entry: RequestLogEntry): void {
    if (this.logQueue.length >= MAX_LOG_QUEUE) return
    this.logQueue.push(entry)
    this.logTimer ??= setTimeout(() => this.flushLog(), LOG_FLUSH_MS)
  }

  /** Sends the status now (e.g. after Warpgate connections changed). */
  reportStatus(): void {
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.snapshot || !this.connected) return
    ws.send(JSON.stringify({t: 'status', configVersion: this.snapshot.version, ...this.opts.status()} satisfies FromEdge))
  }

  /** The key and certificate the next connection presents (after a renewal); the open one keeps its own. */
  setTls(tls: {key: string; cert: string}): void {
    this.opts.tls = {...this.opts.tls, ...tls}
  }

  close(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    clearInterval(this.statusTimer)
    clearTimeout(this.logTimer)
    this.ws?.terminate()
    this.failPending('the edge is stopping')
  }

  private flushLog(): void {
    this.logTimer = undefined
    const ws = this.ws
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.connected) return
    while (this.logQueue.length > 0) ws.send(JSON.stringify({t: 'log', entries: this.logQueue.splice(0, 1000)} satisfies FromEdge))
  }

  private connect(): void {
    if (this.stopped) return
    const url = new URL(EDGE_CHANNEL_PATH, this.opts.controlUrl).toString().replace(/^https:/, 'wss:')
    const ws = new WebSocket(url, EDGE_CHANNEL_PROTOCOL, {
      key: this.opts.tls.key, cert: this.opts.tls.cert, ca: [this.opts.tls.ca], minVersion: 'TLSv1.3',
      // ws's types still describe a boolean-returning check; ws hands it to tls.connect, which takes an Error
      checkServerIdentity: this.serverIdentity as unknown as WebSocket.ClientOptions['checkServerIdentity'],
      maxPayload: 512 * 1024 * 1024, perMessageDeflate: false, handshakeTimeout: 10_000,
    })
    this.ws = ws
    let alive = true
    let pinger: NodeJS.Timeout | undefined
    ws.on('open', () => {
      pinger = setInterval(() => {
        if (!alive) return ws.terminate()
        alive = false
        ws.ping()
      }, 5_000)
    })
    ws.on('pong', () => (alive = true))
    ws.on('ping', () => (alive = true))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString('utf8').slice(0, 2000)))
      res.on('end', () => {
        let message = `HTTP ${res.statusCode}`
        try {
          message = (JSON.parse(body) as {error?: {message?: string}}).error?.message ?? message
        } catch {}
        this.opts.log?.warn({status: res.statusCode, message}, 'the control plane refused the edge channel')
        // a revoked or unknown edge cannot fix itself by retrying: the first start fails with the
        // reason; an edge refused on a reconnect (revoked while it was away) stops serving
        if (res.statusCode === 401 || res.statusCode === 403) {
          if (this.first) {
            this.first.reject(new Error(`the control plane refused this edge: ${message}`))
            this.first = undefined
            this.close()
          } else {
            this.refuse(`the control plane refused this edge: ${message}`)
          }
        }
        ws.terminate()
      })
    })
    ws.on('message', (data) => {
      alive = true
      let msg: ToEdge
      try {
        msg = JSON.parse(data.toString()) as ToEdge
        this.onMessage(msg)
      } catch (error) {
        this.opts.log?.warn({err: error}, 'a message from the control plane could not be applied; resyncing')
        ws.close(1007, 'resync')
      }
    })
    ws.on('error', (error: NodeJS.ErrnoException) => {
      // the rest (refused, timed out) is retried quietly; this one means something else answers at the address
      if (error.code === NOT_CONTROL_PLANE) this.opts.log?.warn({err: error}, error.message)
    })
    ws.on('close', (code, reason) => {
      clearInterval(pinger)
      clearInterval(this.statusTimer)
      if (this.ws === ws) this.ws = undefined
      const wasUp = this.connected
      this.connectedSince = null
      if (wasUp) {
        this.disconnectedSince = Date.now()
        // a stopping edge closed it itself: nothing to warn about
        if (!this.stopped) this.opts.log?.warn({code, reason: reason.toString()}, 'the control channel is down; serving the last snapshot')
      }
      this.failPending('the control channel closed')
      if (code === 4003) return this.refuse('the control plane revoked this edge')
      if (this.stopped) return
      const delay = (this.opts.nextDelay ?? defaultDelay)(this.attempt++)
      this.retryTimer = setTimeout(() => this.connect(), delay)
      this.retryTimer.unref()
    })
  }

  private onMessage(msg: ToEdge): void {
    switch (msg.t) {
      case 'hello': {
        this.edgeId = msg.edgeId
        this.secrets = msg.secrets
        this.warpgates = msg.warpgates
        this.tunnelEdges = msg.tunnelEdges
        this.swap(decodeSnapshot(msg.snapshot, this.opts.signingKey))
        this.connectedSince = Date.now()
        this.disconnectedSince = null
        this.attempt = 0
        this.emit('warpgates', msg.warpgates, [])
        this.emit('edges', msg.tunnelEdges)
        this.first?.resolve()
        this.first = undefined
        this.reportStatus()
        this.flushLog()
        this.statusTimer = setInterval(() => this.reportStatus(), STATUS_EVERY_MS)
        this.statusTimer.unref()
        this.emit('connected')
        return
      }
      case 'delta':
        return this.swap(applyDelta(this.get(), msg.delta, this.opts.signingKey))
      case 'event':
        for (const fn of this.eventListeners) fn(msg.event)
        return
      case 'warpgates':
        this.warpgates = msg.items
        this.emit('warpgates', msg.items, msg.revoked)
        return
      case 'edges':
        this.tunnelEdges = msg.edges
        this.emit('edges', msg.edges)
        return
      case 'res': {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        clearTimeout(p.timer)
        // the control plane's store being away is a moment's wait for the person, like the control plane itself
        if (msg.error) p.reject(msg.error.code === 'store_unavailable' ? new AuthorityUnavailable(msg.error.message) : new ControlCallError(msg.error.code, msg.error.message))
        else p.resolve(msg.result)
        return
      }
      default:
        throw new Error(`unknown message ${(msg as {t: string}).t}`)
    }
  }

  /** The control plane will not have this edge any more: stop reconnecting and say why. */
  private refuse(reason: string): void {
    if (this.stopped) return
    this.opts.log?.warn({reason}, 'the control plane refused this edge; it stops')
    this.close()
    this.emit('refused', reason)
  }

  private swap(next: EdgeSnapshot): void {
    this.snapshot = next
    for (const fn of this.snapshotListeners) fn(next)
  }

  private failPending(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new AuthorityUnavailable(why))
      this.pending.delete(id)
    }
  }
}

function defaultDelay(attempt: number): number {
  return 250 + Math.floor(Math.random() * Math.min(5_000, 250 * 2 ** Math.min(attempt, 10)))
}
