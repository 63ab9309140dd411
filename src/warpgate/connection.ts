import {EventEmitter} from 'node:events'
import tls from 'node:tls'
import {ResetCode} from '../protocol/frames.js'
import {MuxConnection} from '../protocol/mux.js'
import {TUNNEL_ALPN, TUNNEL_PING_INTERVAL_MS, TUNNEL_PING_TIMEOUT_MS} from '../protocol/settings.js'
import {readTunnelEdges, type TunnelEdge, WARPGATE_STATS_INTERVAL_MS, type WarpgateControl, type WarpgateHello, type WarpgateStats} from '../protocol/tunnel.js'
import type {StreamHandler} from './origin.js'

/** Why serve() returned. `established`: the edge accepted us and said hello. */
export interface EndReason {
  kind: 'refused' | 'closed' | 'error' | 'drained' | 'stopped'
  detail: string
  established: boolean
}

export interface ConnectionOptions {
  /** tls://host:port of the edge's tunnel listener */
  tunnelUrl: string
  /** the pinned platform CA: the edge must present a certificate it signed */
  caPem: string
  certPem: string
  keyPem: string
  handler: StreamHandler
  hello: WarpgateHello
  /** current health of the local service, sent right after hello */
  health: () => {healthy: boolean; reason?: string}
  /** the Warpgate's counters, reported to the edge on connect and every `statsIntervalMs` */
  stats?: () => WarpgateStats
  statsIntervalMs?: number
  connectTimeoutMs?: number
  /** the edge sent every edge's tunnel addresses (a well-formed `edges` message) */
  onEdges?(edges: TunnelEdge[]): void
  /** the edge sent an `edges` message that does not read; it is ignored */
  onBadEdges?(reason: string): void
}

/** How long to wait for the edge to acknowledge a drain before relying on the grace period alone. */
const DRAIN_ACK_TIMEOUT_MS = 3000

/**
 * ONE TLS 1.3 connection to the edge carrying the tunnel's frames (src/protocol/mux.ts): the
 * Warpgate dials out, the edge opens streams on it. serve() resolves with why it ended; it never rejects.
 */
export class TunnelConnection extends EventEmitter<{ready: []; end: [EndReason]}> {
  private socket?: tls.TLSSocket
  private mux?: MuxConnection
  private endReason?: EndReason['kind']
  /** a refusal the edge explained (GOAWAY text), e.g. a protocol version mismatch */
  private refusal?: string
  private drainAcked?: () => void
  private idleWaiters: Array<() => void> = []
  private pingTimer?: NodeJS.Timeout
  private statsTimer?: NodeJS.Timeout
  private established = false
  private draining?: Promise<void>

  constructor(private readonly opts: ConnectionOptions) {
    super()
  }

  get streamsInFlight(): number {
    return this.mux?.activeStreams ?? 0
  }

  get isEstablished(): boolean {
    return this.established
  }

  serve(): Promise<EndReason> {
    return new Promise((resolve) => {
      const url = new URL(this.opts.tunnelUrl)
      const host = url.hostname.replace(/^\[|\]$/g, '')
      let lastError = ''
      const socket = tls.connect({
        host, port: Number(url.port), servername: /^[\d.]+$|:/.test(host) ? undefined : host,
        ca: [this.opts.caPem], cert: this.opts.certPem, key: this.opts.keyPem,
        minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ALPNProtocols: [TUNNEL_ALPN],
        timeout: this.opts.connectTimeoutMs ?? 10_000,
      })
      this.socket = socket
      socket.setNoDelay(true)
      socket.on('timeout', () => {
        if (!this.established) socket.destroy(new Error('connect timeout'))
      })
      socket.on('error', (e) => (lastError = e.message))
      socket.once('secureConnect', () => {
        socket.setTimeout(0)
        if (socket.alpnProtocol !== TUNNEL_ALPN) return socket.destroy(new Error('the edge did not agree on the tunnel protocol'))
        this.mux = new MuxConnection(socket, {
          role: 'warpgate',
          onStream: (stream, head, flags) => this.opts.handler.serveStream(stream, head, flags),
          onHello: () => this.ready(),
          onControl: (msg) => this.control(msg),
          onIdle: () => {
            for (const w of this.idleWaiters.splice(0)) w()
          },
          onGoaway: (code, text, ack) => {
            if (ack) return this.drainAcked?.()
            if (code === ResetCode.VERSION_MISMATCH || !this.established) this.refusal = text
          },
          onClose: (error) => {
            if (error) lastError = error.message
          },
        })
        this.mux.sendHello({...this.opts.hello})
      })
      socket.once('close', () => {
        clearInterval(this.pingTimer)
        clearInterval(this.statsTimer)
        for (const w of this.idleWaiters.splice(0)) w()
        this.drainAcked?.()
        const kind = this.endReason ?? (this.established ? (lastError ? 'error' : 'closed') : 'refused')
        const detail = kind === 'refused'
          ? `the edge refused the connection${this.refusal ? `: ${this.refusal}` : lastError ? `: ${lastError}` : ''}`
          : lastError || kind
        const reason: EndReason = {kind, detail, established: this.established}
        this.emit('end', reason)
        resolve(reason)
      })
    })
  }

  private ready(): void {
    this.established = true
    const h = this.opts.health()
    if (!h.healthy) this.send({type: 'health', healthy: false, reason: h.reason})
    this.pingTimer = setInterval(() => void this.ping(), TUNNEL_PING_INTERVAL_MS)
    this.pingTimer.unref()
    const stats = this.opts.stats
    if (stats) {
      this.send({type: 'stats', ...stats()})
      this.statsTimer = setInterval(() => this.send({type: 'stats', ...stats()}), this.opts.statsIntervalMs ?? WARPGATE_STATS_INTERVAL_MS)
      this.statsTimer.unref()
    }
    this.emit('ready')
  }

  /** CONTROL from the edge. Types this Warpgate does not know (from a newer edge) are ignored. */
  private control(msg: Record<string, unknown>): void {
    if (msg.type !== 'edges') return
    const read = readTunnelEdges(msg.edges)
    if ('error' in read) this.opts.onBadEdges?.(read.error)
    else this.opts.onEdges?.(read.edges)
  }

  private async ping(): Promise<void> {
    const mux = this.mux
    if (!mux || mux.isClosed) return
    if (!(await mux.ping(TUNNEL_PING_TIMEOUT_MS)) && !mux.isClosed) mux.destroy(new Error('the edge stopped answering pings'))
  }

  private send(msg: WarpgateControl): void {
    this.mux?.sendControl(msg)
  }

  /** Tells the edge whether the local service is healthy (unhealthy → no new requests here). */
  setHealth(healthy: boolean, reason?: string): void {
    if (this.established) this.send({type: 'health', healthy, reason})
  }

  /**
   * Drains: tell the edge first (GOAWAY) and wait for its acknowledgement (no new streams after
   * it), let in-flight streams finish within graceMs, then close. Streams still running after the
   * grace are cut.
   */
  drain(graceMs: number): Promise<void> {
    // once: an edge dropped from the list is drained, and a Warpgate drain may follow it
    this.draining ??= this.drainOnce(graceMs)
    return this.draining
  }

  private async drainOnce(graceMs: number): Promise<void> {
    const mux = this.mux
    if (!this.socket || this.socket.destroyed) return
    this.endReason ??= 'drained'
    // Still dialling: nothing is in flight, and returning would let the connection come up
    // afterwards and keep the Warpgate running after its drain.
    if (!mux || !this.established) return this.close()
    const acked = new Promise<void>((resolve) => (this.drainAcked = resolve))
    mux.goaway(ResetCode.NO_ERROR, 'draining')
    await Promise.race([acked, delay(DRAIN_ACK_TIMEOUT_MS)])
    if (this.streamsInFlight > 0) await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), delay(graceMs)])
    await this.closeGracefully()
  }

  private async closeGracefully(): Promise<void> {
    const socket = this.socket
    if (!socket || socket.destroyed) return
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    this.mux?.end()
    await Promise.race([closed, delay(1000)])
    socket.destroy()
  }

  /** Closes now; in-flight streams fail. Safe to call twice. */
  close(): void {
    this.endReason ??= 'stopped'
    this.mux?.destroy()
    this.socket?.destroy()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref())
}
