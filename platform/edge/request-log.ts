import type {IncomingMessage} from 'node:http'
import type {Http2ServerRequest} from 'node:http2'
import type {TLSSocket} from 'node:tls'
import type {RequestLogEntry} from '../../src/lib/api-types/index.js'

export type {RequestLogEntry} from '../../src/lib/api-types/index.js'

/** Longest path kept; a longer one is cut, so one entry's size stays bounded. */
const MAX_PATH = 1024
const MAX_FIELD = 253

/**
 * The last `capacity` requests the edge served, in memory only (DESIGN: request traffic is never
 * stored). Appending is O(1) and never blocks the request: followers are called synchronously and
 * must only queue what they get.
 */
export class RequestLog {
  private readonly ring: Array<RequestLogEntry | undefined>
  private next = 0
  private count = 0
  private readonly followers = new Set<(entry: RequestLogEntry) => void>()

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('the request log needs a capacity of at least 1')
    this.ring = new Array(capacity)
  }

  get size(): number {
    return this.count
  }

  /** Records one request, copying only the known fields and dropping the query string. */
  append(e: RequestLogEntry): void {
    const q = e.path.search(/[?#]/)
    const entry: RequestLogEntry = {
      time: e.time, requestId: e.requestId.slice(0, 64), routeId: e.routeId, host: e.host.slice(0, MAX_FIELD), method: e.method.slice(0, 32),
      path: (q === -1 ? e.path : e.path.slice(0, q)).slice(0, MAX_PATH),
      status: e.status, durationMs: e.durationMs, bytesIn: e.bytesIn, bytesOut: e.bytesOut,
      clientIp: e.clientIp.slice(0, 64), tlsVersion: e.tlsVersion, protocol: e.protocol.slice(0, 16),
    }
    this.ring[this.next] = entry
    this.next = (this.next + 1) % this.capacity
    if (this.count < this.capacity) this.count++
    for (const f of this.followers) {
      try {
        f(entry)
      } catch {
        // a broken follower must not break the request that is being logged
      }
    }
  }

  /** The newest `limit` entries that pass `filter`, oldest first. */
  recent(limit: number, filter: (e: RequestLogEntry) => boolean = () => true): RequestLogEntry[] {
    const out: RequestLogEntry[] = []
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity]!
      if (filter(e)) out.push(e)
    }
    return out.reverse()
  }

  /** Calls `follower` with each new entry until the returned function is called. */
  subscribe(follower: (entry: RequestLogEntry) => void): () => void {
    this.followers.add(follower)
    return () => this.followers.delete(follower)
  }

  get followerCount(): number {
    return this.followers.size
  }
}

/** The connection-level fields of an entry, read from the end user's request (HTTP/1.1 or HTTP/2). */
export function connectionMeta(req: IncomingMessage | Http2ServerRequest): Pick<RequestLogEntry, 'clientIp' | 'tlsVersion' | 'protocol'> {
  const socket = req.socket as Partial<TLSSocket> | undefined
  const ip = socket?.remoteAddress ?? ''
  return {
    // ::ffff:203.0.113.7 is how a dual-stack listener shows an IPv4 client
    clientIp: ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip,
    tlsVersion: typeof socket?.getProtocol === 'function' ? socket.getProtocol() : null,
    protocol: req.httpVersionMajor === 2 ? 'h2' : `http/${req.httpVersion}`,
  }
}
