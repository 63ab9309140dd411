import {EventEmitter} from 'node:events'
import http2 from 'node:http2'
import type {TLSSocket} from 'node:tls'
import {TUNNEL_CONNECTION_WINDOW_BYTES, TUNNEL_H2_SETTINGS, TUNNEL_HELLO_TIMEOUT_MS, TUNNEL_PING_INTERVAL_MS, TUNNEL_PING_TIMEOUT_MS} from '../../../src/protocol/settings.js'
import {controlLineReader, encodeControl, HEADER_TUNNEL_STREAM, TUNNEL_STREAM_CONTROL} from '../../../src/protocol/tunnel.js'

/** Who is at the other end of a tunnel connection, as the registration says (never as the Warpgate claims). */
export interface TunnelPeer {
  warpgateId: string
  name: string
  projectId: string
  environmentId: string
  service: string
}

/**
 * One accepted Warpgate connection. The edge is the HTTP/2 client over the socket the Warpgate
 * dialled; the first stream it opens is the control stream, on which the Warpgate says hello,
 * reports health and announces a drain.
 */
export class TunnelSession extends EventEmitter<{ready: []; drain: []; health: [boolean]; close: []}> {
  readonly h2: http2.ClientHttp2Session
  readonly remoteIp: string
  readonly connectedAt = Date.now()
  version: string | null = null
  healthy = true
  draining = false
  isReady = false
  isClosed = false
  /** request streams in flight on this connection */
  active = 0
  private control?: http2.ClientHttp2Stream
  private pingTimer?: NodeJS.Timeout

  constructor(readonly socket: TLSSocket, readonly peer: TunnelPeer) {
    super()
    this.remoteIp = socket.remoteAddress ?? ''
    this.h2 = http2.connect('http://warpgate.invalid', {createConnection: () => socket, settings: TUNNEL_H2_SETTINGS})
    this.h2.on('connect', () => this.h2.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW_BYTES))
    this.h2.on('error', () => this.close())
    this.h2.on('goaway', () => this.markDraining())
    this.h2.on('close', () => this.close())
    this.openControl()
    this.pingTimer = setInterval(() => this.ping(), TUNNEL_PING_INTERVAL_MS)
    this.pingTimer.unref()
    // A peer that never says hello never gets traffic; do not keep its socket either.
    const helloTimer = setTimeout(() => {
      if (!this.isReady) this.close()
    }, TUNNEL_HELLO_TIMEOUT_MS)
    helloTimer.unref()
  }

  private openControl(): void {
    const ctl = this.h2.request({':method': 'POST', ':path': '/', [HEADER_TUNNEL_STREAM]: TUNNEL_STREAM_CONTROL}, {endStream: false})
    this.control = ctl
    ctl.setEncoding('utf8')
    ctl.on('data', controlLineReader((msg) => {
      switch (msg.type) {
        case 'hello':
          this.version = typeof msg.version === 'string' ? msg.version.slice(0, 64) : null
          if (!this.isReady) {
            this.isReady = true
            this.emit('ready')
          }
          break
        case 'health':
          if (typeof msg.healthy === 'boolean' && msg.healthy !== this.healthy) {
            this.healthy = msg.healthy
            this.emit('health', msg.healthy)
          }
          break
        case 'drain':
          this.markDraining()
          // Only after this ack does the Warpgate rely on getting no new streams here.
          if (!ctl.destroyed) ctl.write(encodeControl({type: 'drain-ack'}))
          break
      }
    }))
    // The control stream ending means the connection is on its way out.
    ctl.on('close', () => this.markDraining())
    ctl.on('error', () => this.markDraining())
  }

  private markDraining(): void {
    if (this.draining) return
    this.draining = true
    this.emit('drain')
  }

  private ping(): void {
    if (this.isClosed) return
    const timer = setTimeout(() => this.close(), TUNNEL_PING_TIMEOUT_MS)
    timer.unref()
    try {
      this.h2.ping((err) => {
        clearTimeout(timer)
        if (err) this.close()
      })
    } catch {
      clearTimeout(timer)
      this.close()
    }
  }

  /** Takes new requests: ready, healthy, not draining, not closed. */
  get isAvailable(): boolean {
    return this.isReady && this.healthy && !this.draining && !this.isClosed && !this.h2.closed && !this.h2.destroyed
  }

  /** Opens a request stream; throws when the session can no longer open streams. */
  request(headers: http2.OutgoingHttpHeaders, options: http2.ClientSessionRequestOptions): http2.ClientHttp2Stream {
    const stream = this.h2.request(headers, options)
    this.active++
    stream.once('close', () => this.active--)
    return stream
  }

  /** Closes at once (revocation, edge shutdown): in-flight streams fail. */
  close(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.draining = true
    clearInterval(this.pingTimer)
    this.control?.destroy()
    this.h2.destroy()
    this.socket.destroy()
    this.emit('close')
  }
}
