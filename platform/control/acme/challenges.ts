import {createSecureContext, type SecureContext} from 'node:tls'
import * as acme from 'acme-client'
import type {AcmeChallengeType} from '../../acme-config.js'

/**
 * The answers to pending challenges, in memory: TLS-ALPN-01 certificates by hostname (the edge's
 * ALPN/SNI hooks read them) and HTTP-01 key authorizations by token (the HTTP listener reads them).
 * `present` returns the function that withdraws the answer once the CA has decided.
 */
export class ChallengeResponder {
  private readonly alpn = new Map<string, SecureContext>()
  private readonly tokens = new Map<string, string>()

  async present(type: AcmeChallengeType, authz: acme.Authorization, token: string, keyAuthorization: string): Promise<() => void> {
    const hostname = authz.identifier.value.toLowerCase()
    if (type === 'http-01') {
      this.tokens.set(token, keyAuthorization)
      return () => this.tokens.delete(token)
    }
    const key = await acme.crypto.createPrivateEcdsaKey()
    const [, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, key)
    this.alpn.set(hostname, createSecureContext({key, cert}))
    return () => this.alpn.delete(hostname)
  }

  /** TLS-ALPN-01: the challenge certificate for a hostname under validation. */
  tlsAlpn(servername: string): SecureContext | undefined {
    return this.alpn.get(servername)
  }

  /** HTTP-01: the key authorization for a pending token. */
  keyAuthorization(token: string): string | undefined {
    return this.tokens.get(token)
  }
}
