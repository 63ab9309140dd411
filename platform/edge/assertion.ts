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

/** Distinct callers × routes whose assertion is kept for the current second. */
const SAME_SECOND_CACHE_MAX = 4096

/**
 * Signs Mezu-Jwt-Assertion tokens with the snapshot's active key. Imported private keys are
 * cached by kid, and so is the current second's token per caller and audience: Ed25519 is
 * deterministic and the claims carry no jti and a whole-second iat, so signing the same inputs
 * again within that second would give the same bytes. Under load this turns one signature per
 * request (a quarter of the edge's CPU on small requests) into one per caller, route and second.
 */
export class AssertionSigner {
  private readonly keys = new Map<string, KeyObject>()
  private readonly recent = new Map<string, {key: EdgeSigningKey; token: Promise<string>}>()
  private recentSecond = -1

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  sign(key: EdgeSigningKey, domain: string, audience: string, claims: AssertionClaims): Promise<string> {
    const iat = Math.floor(this.now() / 1000)
    if (iat !== this.recentSecond) {
      this.recent.clear()
      this.recentSecond = iat
    }
    const id = JSON.stringify([key.kid, domain, audience, claims.sub, claims.kind, claims.email, claims.name, claims.groups])
    const hit = this.recent.get(id)
    // Same kid is not enough: a key object from another snapshot must sign for itself.
    if (hit && hit.key === key) return hit.token
    const token = this.signAt(iat, key, domain, audience, claims)
    if (this.recent.size < SAME_SECOND_CACHE_MAX) {
      const entry = {key, token}
      this.recent.set(id, entry)
      token.catch(() => {
        if (this.recent.get(id) === entry) this.recent.delete(id)
      })
    }
    return token
  }

  private async signAt(iat: number, key: EdgeSigningKey, domain: string, audience: string, claims: AssertionClaims): Promise<string> {
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
