import type {SecureContext, TLSSocket} from 'node:tls'
import {ACME_TLS_ALPN} from '../../src/protocol/acme.js'

/**
 * Certificates other than the edge's default one, chosen by SNI. The edge asks before it falls
 * back to its default certificate; answers come from memory (no I/O in a handshake).
 */
export interface CertificateResolver {
  /** the certificate to serve for `servername`, or undefined for the default one */
  resolve(servername: string): SecureContext | undefined
  /** TLS-ALPN-01 (RFC 8737): the challenge certificate for `servername` while its validation is pending */
  challenge?(servername: string): SecureContext | undefined
}

/** The ALPN ids the edge speaks to end users, in its order of preference. */
const END_USER_ALPN = ['h2', 'http/1.1']

/**
 * The TLS server options that consult `resolver`: SNICallback for the certificate, and an
 * ALPNCallback that selects h2 / http/1.1 as Node would, plus `acme-tls/1` for a name with a
 * pending challenge. Node calls the ALPN callback before the SNI one on the same socket, so the
 * socket is marked there and given the challenge certificate only then: a browser (which never
 * offers acme-tls/1) keeps getting the real certificate during a validation.
 */
export function certificateHooks(resolver: CertificateResolver): {
  SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void
  ALPNCallback: (info: {servername: string; protocols: string[]}) => string | undefined
} {
  const validations = new WeakMap<TLSSocket, SecureContext>()
  return {
    ALPNCallback(this: TLSSocket, {servername, protocols}) {
      if (protocols.includes(ACME_TLS_ALPN)) {
        const ctx = servername ? resolver.challenge?.(servername.toLowerCase()) : undefined
        if (!ctx) return undefined
        validations.set(this, ctx)
        return ACME_TLS_ALPN
      }
      return END_USER_ALPN.find((p) => protocols.includes(p))
    },
    SNICallback(this: TLSSocket, servername, cb) {
      const challenge = validations.get(this)
      if (challenge) return cb(null, challenge)
      let ctx: SecureContext | undefined
      try {
        ctx = resolver.resolve(servername.toLowerCase())
      } catch {
        ctx = undefined
      }
      cb(null, ctx)
    },
  }
}
