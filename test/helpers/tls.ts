import tls from 'node:tls'
import {FRAME_HEADER_BYTES, FrameType} from '../../src/protocol/frames.js'
import {TUNNEL_ALPN} from '../../src/protocol/settings.js'

export interface ProbeResult {
  /** the edge sent its HELLO frame: it accepted us as a Warpgate */
  accepted: boolean
  /** the TLS error, when the handshake was refused */
  error?: string
  errorCode?: string
}

/** Does `received` start with a HELLO frame header on stream 0? */
const isHello = (b: Buffer) => b.length >= FRAME_HEADER_BYTES && b[4] === FrameType.HELLO && b.readUInt32BE(6) === 0

/**
 * Dials the tunnel port like a Warpgate would (CA pinned) and reports whether the edge said HELLO
 * on the connection or cut it. `cert`/`key` omitted = no client certificate.
 */
export function probeTunnel(port: number, caPem: string, opts: {cert?: string; key?: string; maxVersion?: tls.SecureVersion; minVersion?: tls.SecureVersion; ciphers?: string} = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0)
    let error: (Error & {code?: string}) | undefined
    const socket = tls.connect({
      host: '127.0.0.1', port, ca: [caPem], cert: opts.cert, key: opts.key, ALPNProtocols: [TUNNEL_ALPN],
      minVersion: opts.minVersion ?? 'TLSv1.2', maxVersion: opts.maxVersion ?? 'TLSv1.3', ciphers: opts.ciphers,
    })
    const timer = setTimeout(() => socket.destroy(new Error('probe deadline passed')), 10_000)
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d])
      if (isHello(received)) socket.destroy()
    })
    socket.on('error', (e) => (error ??= e))
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({accepted: isHello(received), error: error?.message, errorCode: error?.code})
    })
  })
}

/** A bare TLS handshake to the end-user port with a pinned CA; resolves with the protocol or the error. */
export function handshake(port: number, caPem: string, servername: string, opts: {minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion; ciphers?: string; ALPNProtocols?: string[]}): Promise<{protocol?: string | null; alpn?: string | false | null; cipher?: string; error?: string; errorCode?: string}> {
  return new Promise((resolve) => {
    const socket = tls.connect({host: '127.0.0.1', port, ca: [caPem], servername, ...opts})
    socket.once('secureConnect', () => {
      const r = {protocol: socket.getProtocol(), alpn: socket.alpnProtocol, cipher: socket.getCipher().name}
      socket.destroy()
      resolve(r)
    })
    socket.once('error', (e: Error & {code?: string}) => resolve({error: e.message, errorCode: e.code}))
  })
}
