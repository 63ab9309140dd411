import tls from 'node:tls'
import {warpgateIdFromSan} from '../../../src/protocol/identity.js'
import {TUNNEL_ALPN} from '../../../src/protocol/settings.js'
import type {TunnelDirectory} from './directory.js'
import type {TunnelPool} from './pool.js'
import {type TunnelPeer, TunnelSession} from './session.js'
import {listenOn} from '../../listen.js'

export interface TunnelListenerOptions {
  host: string
  port: number
  /** the edge's server certificate chain and key */
  tls: {key: string; cert: string}
  /** the platform CA: the only issuer of Warpgate client certificates */
  caPem: string
  /** the registration behind a Warpgate id, or undefined when it is unknown or revoked */
  admit(warpgateId: string): TunnelPeer | undefined
  pool: TunnelPool
  /** every edge's tunnel addresses, sent to each Warpgate on connect and on each change */
  directory?: TunnelDirectory
  /** a refused connection, for the log: never carries secrets */
  onRefused?(reason: string, remoteIp: string | undefined): void
}

/**
 * The tunnel port: TLS 1.3 only, a client certificate from the platform CA required (OpenSSL
 * refuses anything else in the handshake), and then only for a registered, unrevoked Warpgate;
 * a certificate of a revoked one is cut off before a single HTTP/2 byte is exchanged.
 */
export class TunnelListener {
  readonly server: tls.Server
  private readonly sessions = new Set<TunnelSession>()

  constructor(private readonly opts: TunnelListenerOptions) {
    this.server = tls.createServer({...this.secureOptions(opts.tls), handshakeTimeout: 10_000})
    this.server.on('secureConnection', (socket) => this.accept(socket))
    this.server.on('tlsClientError', (err, socket) => {
      opts.onRefused?.(err.message, socket.remoteAddress)
      socket.destroy()
    })
  }

  /** Serves a new certificate (an edge node's renewal) to connections from now on; open ones keep theirs. */
  setCertificate(pair: {key: string; cert: string}): void {
    this.server.setSecureContext(this.secureOptions(pair))
  }

  /** setSecureContext replaces every TLS setting, so they are given whole each time. */
  private secureOptions(pair: {key: string; cert: string}): tls.SecureContextOptions & tls.TlsOptions {
    return {
      key: pair.key, cert: pair.cert, ca: [this.opts.caPem], requestCert: true, rejectUnauthorized: true,
      minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ALPNProtocols: [TUNNEL_ALPN],
    }
  }

  private accept(socket: tls.TLSSocket): void {
    const refuse = (reason: string) => {
      this.opts.onRefused?.(reason, socket.remoteAddress)
      socket.destroy()
    }
    if (!socket.authorized) return refuse(`client certificate refused: ${socket.authorizationError}`)
    if (socket.alpnProtocol !== TUNNEL_ALPN) return refuse('client did not offer the tunnel ALPN')
    const id = warpgateIdFromSan(socket.getPeerCertificate().subjectaltname)
    if (!id) return refuse('client certificate names no Warpgate')
    const peer = this.opts.admit(id)
    if (!peer) return refuse(`Warpgate ${id} is not registered or is revoked`)
    socket.setNoDelay(true)
    const session = new TunnelSession(socket, peer, this.opts.directory)
    this.sessions.add(session)
    session.once('ready', () => this.opts.pool.add(session))
    session.once('close', () => this.sessions.delete(session))
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.port, this.opts.host)
  }

  /** Stops accepting and closes every tunnel connection; safe to call twice. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of [...this.sessions]) s.close()
    await closed
  }
}
