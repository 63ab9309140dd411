import {generateKeyPairSync} from 'node:crypto'
import {SignJWT} from 'jose'
import {buildEdgeIdentity} from '../../platform/control/edge-identity.js'
import {AssertionSigner} from '../../platform/edge/assertion.js'
import type {Gate} from '../../platform/edge/pipeline.js'
import type {TestPlatform} from './platform.js'

/** An assertion signed with the platform's real active key, for `audience`, issued at now(). */
export async function platformSigned(platform: TestPlatform, audience: string, opts: {email?: string; now?: () => number} = {}): Promise<string> {
  const key = (await buildEdgeIdentity(platform.ctx)).activeKey
  return new AssertionSigner(60_000, opts.now).sign(key, platform.domain, audience, {kind: 'user', sub: 'usr_x', email: opts.email ?? 'ada@example.test', groups: []})
}

/** A well-formed assertion under the platform's real kid, signed by a key the platform never had. */
export async function forgedAssertion(platform: TestPlatform, audience: string, email = 'mallory@example.test'): Promise<string> {
  const {privateKey} = generateKeyPairSync('ed25519')
  const kid = (await buildEdgeIdentity(platform.ctx)).activeKey.kid
  return new SignJWT({email, groups: [], kind: 'user'}).setProtectedHeader({alg: 'EdDSA', kid})
    .setIssuer(`https://auth.${platform.domain}`).setAudience(audience).setSubject('usr_x').setIssuedAt().setExpirationTime('5m').sign(privateKey)
}

/**
 * An edge whose identity step is broken: it signs nothing and passes on, as Mezu-Jwt-Assertion and
 * Mezu-User-Email, whatever the client put in X-Test-Assertion and X-Test-Email (the edge strips
 * inbound Mezu-* whatever the gate does). What neither a Warpgate nor an origin may trust;
 * auth.<domain> and its JWKS stay the platform's real ones.
 */
export const brokenGate: Gate = async (req) => {
  const setHeaders: Record<string, string> = {}
  const assertion = req.headers['x-test-assertion']
  const email = req.headers['x-test-email']
  if (typeof assertion === 'string') setHeaders['mezu-jwt-assertion'] = assertion
  if (typeof email === 'string') setHeaders['mezu-user-email'] = email
  return {action: 'forward', setHeaders}
}
