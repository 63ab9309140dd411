import {createPrivateKey, type KeyObject} from 'node:crypto'
import {SignJWT} from 'jose'
import type {EdgeSigningKey} from './identity-snapshot.js'

/** The algorithm of every assertion (Ed25519). */
export const ASSERTION_ALG = 'EdDSA'

export interface AssertionClaims {
  /** user or service-account id; "anonymous" on a public route */
  sub: string
  /** the user's email; a service account has none */
  email?: string
  /** a service account's name */
  name?: string
  /** directory paths of the user */
  groups: readonly string[]
  /** what kind of caller: "user", "service", or "anonymous" (public routes only) */
  kind: 'user' | 'service' | 'anonymous'
}

/** The issuer of assertions for a platform domain. */
export function assertionIssuer(domain: string): string {
  return `https://auth.${domain}`
}

/**
 * Signs Mezu-Jwt-Assertion tokens with the snapshot's active key. Imported private keys are
 * cached by kid, so signing costs one Ed25519 signature per request.
 */
export class AssertionSigner {
  private readonly keys = new Map<string, KeyObject>()

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(key: EdgeSigningKey, domain: string, audience: string, claims: AssertionClaims): Promise<string> {
    const iat = Math.floor(this.now() / 1000)
    const payload: Record<string, unknown> = {groups: [...claims.groups], kind: claims.kind}
    if (claims.email !== undefined) payload.email = claims.email
    if (claims.name !== undefined) payload.name = claims.name
    return new SignJWT(payload)
      .setProtectedHeader({alg: ASSERTION_ALG, kid: key.kid, typ: 'JWT'})
      .setIssuer(assertionIssuer(domain))
      .setAudience(audience)
      .setSubject(claims.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.max(1, Math.round(this.ttlMs / 1000)))
      .sign(this.privateKey(key))
  }

  private privateKey(key: EdgeSigningKey): KeyObject {
    let k = this.keys.get(key.kid)
    if (!k) {
      if (!key.privateJwk) throw new Error(`signing key ${key.kid} has no private part`)
      k = createPrivateKey({key: key.privateJwk as never, format: 'jwk'})
      if (this.keys.size > 16) this.keys.clear()
      this.keys.set(key.kid, k)
    }
    return k
  }
}

/** The JWKS document published at https://auth.<domain>/.well-known/jwks.json. */
export function jwks(keys: readonly EdgeSigningKey[]): {keys: Array<Record<string, unknown>>} {
  return {keys: keys.map((k) => ({...k.publicJwk, kid: k.kid, alg: ASSERTION_ALG, use: 'sig'}))}
}
