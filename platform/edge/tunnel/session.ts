import {EventEmitter} from 'node:events'
import type {TLSSocket} from 'node:tls'
import {type HeadFields, ResetCode} from '../../../src/protocol/frames.js'
import {MuxConnection, type MuxStream} from '../../../src/protocol/mux.js'
import {TUNNEL_HELLO_TIMEOUT_MS, TUNNEL_PING_INTERVAL_MS, TUNNEL_PING_TIMEOUT_MS} from '../../../src/protocol/settings.js'
import type {EdgeControl, TunnelEdge, WarpgateStats} from '../../../src/protocol/tunnel.js'
import type {TunnelDirectory} from './directory.js'

/** Who is at the other end of a tunnel connection, as the registration says (never as the Warpgate claims). */
export interface TunnelPeer {
  warpgateId: string
  name: string
  projectId: string
  environmentId: string
  service: string
}

/**
 * One accepted Warpgate connection. The edge opens a stream per request over the multiplexer;
 * CONTROL frames carry health (in) and every edge's tunnel addresses (out, from the directory, on
 * hello and on each change); a GOAWAY from the Warpgate is its drain (acknowledged, after which
 * no new stream goes there).
 */
export class TunnelSession extends EventEmitter<{ready: []; drain: []; health: [boolean]; close: []}> {
  readonly mux: MuxConnection
  readonly remoteIp: string
  readonly connectedAt = Date.now()
  version: string | null = null
  healthy = true
  draining = false
  isReady = false
  isClosed = false
  /** the Warpgate's counters as it last reported them (only well-formed reports are kept) */
  reported?: WarpgateStats & {at: number}
  private pingTimer?: NodeJS.Timeout
  private offDirectory?: () => void

  constructor(readonly socket: TLSSocket, readonly peer: TunnelPeer, directory?: TunnelDirectory) {
    super()
    this.remoteIp = socket.remoteAddress ?? ''
    this.mux = new MuxConnection(socket, {
      role: 'edge',
      onHello: (hello) => {
        this.version = typeof hello.version === 'string' ? hello.version.slice(0, 64) : null
        this.isReady = true
        // after the Warpgate's hello: it speaks our version, so it can read (or ignore) the list
        if (directory) {
          this.sendEdges(directory.current())
          this.offDirectory = directory.onChange((edges) => this.sendEdges(edges))
        }
        this.emit('ready')
      },
      onControl: (msg) => {
        if (msg.type === 'health' && typeof msg.healthy === 'boolean' && msg.healthy !== this.healthy) {
          this.healthy = msg.healthy
          this.emit('health', msg.healthy)
        }
        if (msg.type === 'stats') this.reported = readStats(msg) ?? this.reported
      },
      onGoaway: (_code, _text, ack) => {
        if (ack) return
        this.markDraining()
        // Only after this acknowledgement does the Warpgate rely on getting no new streams here.
        this.mux.goaway(ResetCode.NO_ERROR, 'drain acknowledged', true)
      },
      onClose: () => this.close(),
    })
    this.mux.sendHello({})
    this.pingTimer = setInterval(() => void this.ping(), TUNNEL_PING_INTERVAL_MS)
    this.pingTimer.unref()
    // A peer that never says hello never gets traffic; do not keep its socket either.
    const helloTimer = setTimeout(() => {
      if (!this.isReady) this.close()
    }, TUNNEL_HELLO_TIMEOUT_MS)
    helloTimer.unref()
  }

  /** An empty list is never sent: a Warpgate would ignore it anyway. */
  private sendEdges(edges: readonly TunnelEdge[]): void {
    if (edges.length === 0 || this.isClosed) return
    const msg: EdgeControl = {type: 'edges', edges: edges as TunnelEdge[]}
    this.mux.sendControl(msg)
  }

  private markDraining(): void {
    if (this.draining) return
    this.draining = true
    this.emit('drain')
  }

  private async ping(): Promise<void> {
    if (this.isClosed) return
    if (!(await this.mux.ping(TUNNEL_PING_TIMEOUT_MS))) this.close()
  }

  /** Request streams in flight on this connection. */
  get active(): number {
    return this.mux.activeStreams
  }

  /** Takes new requests: ready, healthy, not draining, not closed, below the stream cap. */
  get isAvailable(): boolean {
    return this.isReady && this.healthy && !this.draining && !this.isClosed && this.mux.canOpen
  }

  /** Opens a request stream; throws when the connection can no longer open streams. */
  request(head: HeadFields, flags: number): MuxStream {
    return this.mux.open(head, flags)
  }

  /** Closes at once (revocation, edge shutdown): in-flight streams fail. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.draining = true
    clearInterval(this.pingTimer)
    this.offDirectory?.()
    this.mux.destroy()
    this.emit('close')
  }
}

const STAT_FIELDS = ['requests', 'originErrors', 'originConnectFailures', 'reconnects', 'streams'] as const

/** A stats report's counters, or undefined unless every one is a whole number of 0 or more. */
function readStats(msg: Record<string, unknown>): (WarpgateStats & {at: number}) | undefined {
  const out = {at: Date.now()} as WarpgateStats & {at: number}
  for (const k of STAT_FIELDS) {
    const v = msg[k]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return undefined
    out[k] = v
  }
  return out
}
