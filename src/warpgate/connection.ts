import {EventEmitter} from 'node:events'
import http2 from 'node:http2'
import tls from 'node:tls'
import {TUNNEL_ALPN, TUNNEL_CONNECTION_WINDOW_BYTES, TUNNEL_H2_SETTINGS, TUNNEL_PING_INTERVAL_MS, TUNNEL_PING_TIMEOUT_MS} from '../protocol/settings.js'
import {controlLineReader, encodeControl, HEADER_TUNNEL_STREAM, TUNNEL_STREAM_CONTROL, type WarpgateMessage} from '../protocol/tunnel.js'
import type {StreamHandler} from './origin.js'

/** Why serve() returned. `established`: the edge accepted us and opened the control stream. */
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
  hello: {version: string; service: string; connection: number}
  /** current health of the local service, sent right after hello */
  health: () => {healthy: boolean; reason?: string}
  connectTimeoutMs?: number
}

/** How long to wait for the edge to acknowledge a drain before relying on the grace period alone. */
const DRAIN_ACK_TIMEOUT_MS = 3000

/**
 * ONE TLS 1.3 connection to the edge serving reverse HTTP/2: the Warpgate dials out, then acts
 * as the HTTP/2 server on that socket. serve() resolves with why it ended; it never rejects.
 */
export class TunnelConnection extends EventEmitter<{ready: []; end: [EndReason]}> {
  private socket?: tls.TLSSocket
  private session?: http2.ServerHttp2Session
  private control?: http2.ServerHttp2Stream
  private inFlight = 0
  private endReason?: EndReason['kind']
  private drainAcked?: () => void
  private idleWaiters: Array<() => void> = []
  private pingTimer?: NodeJS.Timeout
  private established = false

  constructor(private readonly opts: ConnectionOptions) {
    super()
  }

  get streamsInFlight(): number {
    return this.inFlight
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
        const server = http2.createServer({settings: {...TUNNEL_H2_SETTINGS, enableConnectProtocol: true}})
        server.on('session', (session) => {
          this.session = session
          session.on('error', () => {})
          session.once('remoteSettings', () => session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW_BYTES))
        })
        server.on('stream', (stream, headers) => this.dispatch(stream, headers))
        server.emit('connection', socket)
      })
      socket.once('close', () => {
        clearInterval(this.pingTimer)
        for (const w of this.idleWaiters.splice(0)) w()
        this.drainAcked?.()
        const kind = this.endReason ?? (this.established ? (lastError ? 'error' : 'closed') : 'refused')
        const detail = kind === 'refused' ? `the edge refused the connection${lastError ? `: ${lastError}` : ''}` : lastError || kind
        const reason: EndReason = {kind, detail, established: this.established}
        this.emit('end', reason)
        resolve(reason)
      })
    })
  }

  private dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {})
    if (headers[HEADER_TUNNEL_STREAM] === TUNNEL_STREAM_CONTROL) return this.openControl(stream)
    this.inFlight++
    stream.once('close', () => {
      this.inFlight--
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w()
    })
    this.opts.handler.serveStream(stream, headers)
  }

  private openControl(stream: http2.ServerHttp2Stream): void {
    if (this.control) return void stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR)
    this.control = stream
    stream.respond({':status': 200})
    this.send({type: 'hello', ...this.opts.hello})
    const h = this.opts.health()
    if (!h.healthy) this.send({type: 'health', healthy: false, reason: h.reason})
    stream.setEncoding('utf8')
    stream.on('data', controlLineReader((msg) => {
      if (msg.type === 'drain-ack') this.drainAcked?.()
    }))
    this.established = true
    this.pingTimer = setInterval(() => this.ping(), TUNNEL_PING_INTERVAL_MS)
    this.pingTimer.unref()
    this.emit('ready')
  }

  private ping(): void {
    const s = this.session
    if (!s || s.destroyed) return
    const timer = setTimeout(() => this.socket?.destroy(new Error('the edge stopped answering pings')), TUNNEL_PING_TIMEOUT_MS)
    timer.unref()
    try {
      s.ping((err) => {
        clearTimeout(timer)
        if (err) this.socket?.destroy(err)
      })
    } catch {
      clearTimeout(timer)
    }
  }

  private send(msg: WarpgateMessage): void {
    if (this.control && !this.control.destroyed && !this.control.closed) this.control.write(encodeControl(msg))
  }

  /** Tells the edge whether the local service is healthy (unhealthy → no new requests here). */
  setHealth(healthy: boolean, reason?: string): void {
    this.send({type: 'health', healthy, reason})
  }

  /**
   * Drains: tell the edge first and wait for its ack (no new streams after it), let in-flight
   * streams finish within graceMs, then close. Streams still running after the grace are cut.
   */
  async drain(graceMs: number): Promise<void> {
    if (!this.socket || this.socket.destroyed) return
    this.endReason ??= 'drained'
    if (this.control && this.established) {
      const acked = new Promise<void>((resolve) => (this.drainAcked = resolve))
      this.send({type: 'drain'})
      await Promise.race([acked, delay(DRAIN_ACK_TIMEOUT_MS)])
    }
    if (this.inFlight > 0) await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), delay(graceMs)])
    await this.closeGracefully()
  }

  private async closeGracefully(): Promise<void> {
    const socket = this.socket
    if (!socket || socket.destroyed) return
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    this.control?.end()
    if (this.session && !this.session.destroyed) this.session.close()
    else socket.end()
    await Promise.race([closed, delay(1000)])
    socket.destroy()
  }

  /** Closes now; in-flight streams fail. Safe to call twice. */
  close(): void {
    this.endReason ??= 'stopped'
    this.session?.destroy()
    this.socket?.destroy()
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref())
}
