import net from 'node:net'
import tls from 'node:tls'
import {ResponseParser} from './http1-response.js'

/** What a connection hands the request it currently carries. */
export interface ConnectionUser {
  /** The origin closed or failed the connection before the response ended; true when the user retried elsewhere. */
  connectionLost(conn: OriginConnection): boolean
}

/** Idle connections kept for reuse (LIFO, so the warm ones stay in use and the rest expire). */
const MAX_IDLE = 64
/** Idle connections older than this are closed: below the 5 s keep-alive timeout of Node servers, so we seldom race their close. */
const IDLE_MS = 4000

/**
 * One keep-alive HTTP/1.1 connection to the origin, carrying one request at a time. Its listeners
 * and response parser live as long as the socket: a request adds only what it must.
 */
export class OriginConnection {
  readonly parser = new ResponseParser()
  user: ConnectionUser | null = null
  /** requests started on this connection; a reused one may have been closed by the origin meanwhile */
  requests = 0
  idleSince = 0
  connected = false
  /** the socket error, for the report (ECONNREFUSED, …) */
  error: string | undefined
  private over = false

  constructor(readonly socket: net.Socket, private readonly pool: OriginPool, secure: boolean) {
    socket.setNoDelay(true)
    socket.once(secure ? 'secureConnect' : 'connect', () => (this.connected = true))
    socket.on('data', (d: Buffer) => {
      this.parser.execute(d)
      // bytes nobody asked for (pipelined garbage): this connection is done
      if (this.user === null && this.parser.failed) {
        this.pool.forget(this)
        socket.destroy()
      }
    })
    socket.on('end', () => this.lost())
    socket.on('error', (e: NodeJS.ErrnoException) => (this.error ??= e.code ?? e.message))
    socket.on('close', () => {
      this.pool.forget(this)
      this.lost()
    })
  }

  private lost(): void {
    if (this.over) return
    this.over = true
    const user = this.user
    if (user && user.connectionLost(this)) return
    this.parser.finish()
  }

  /** The request on it is over: back to the pool when it can carry another, else closed. */
  release(reusable: boolean): void {
    this.user = null
    if (!reusable || this.over || this.parser.failed || this.socket.destroyed) return void this.socket.destroy()
    this.parser.reset()
    if (this.socket.isPaused()) this.socket.resume()
    this.pool.keep(this)
  }

  /** Closes the connection; the rest of a read already in hand reaches nobody. */
  destroy(): void {
    this.user = null
    this.parser.abort()
    this.socket.destroy()
  }
}

/** Pooled keep-alive connections to one origin (http: or https:). */
export class OriginPool {
  private readonly idle: OriginConnection[] = []
  private sweeper: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly target: {secure: boolean; host: string; port: number}) {}

  /** An idle connection, or a new one (usable at once: writes wait for the connect). */
  acquire(fresh = false): OriginConnection {
    if (!fresh) {
      let conn
      while ((conn = this.idle.pop())) if (!conn.socket.destroyed) return conn
    }
    const {secure, host, port} = this.target
    const socket = secure
      ? tls.connect({host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1']})
      : net.connect({host, port})
    return new OriginConnection(socket, this, secure)
  }

  keep(conn: OriginConnection): void {
    if (this.closed || this.idle.length >= MAX_IDLE) return void conn.destroy()
    conn.idleSince = performance.now()
    this.idle.push(conn)
    this.sweeper ??= setInterval(() => this.sweep(), IDLE_MS).unref()
  }

  forget(conn: OriginConnection): void {
    const i = this.idle.indexOf(conn)
    if (i >= 0) this.idle.splice(i, 1)
  }

  private sweep(): void {
    const before = performance.now() - IDLE_MS
    // oldest first: the bottom of the stack
    while (this.idle.length && this.idle[0].idleSince < before) this.idle.shift()!.destroy()
    if (this.idle.length === 0) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }

  close(): void {
    this.closed = true
    clearInterval(this.sweeper)
    for (const conn of this.idle.splice(0)) conn.destroy()
  }
}
