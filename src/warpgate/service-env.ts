import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {jwksLocation} from './assertion.js'
import type {Credentials} from './registration.js'

/** What a service started by `mezu tunnel` is told so it can verify Mezu-Jwt-Assertion itself. */
export interface ServiceIdentityEnv {
  /** MEZU_ISSUER, MEZU_JWKS_URL and NODE_EXTRA_CA_CERTS (a PEM file any TLS stack can use as extra roots) */
  env: Record<string, string>
  /** removes the CA file; safe to call twice */
  remove(): void
}

/**
 * Writes the pinned platform CA to a private temporary file and names it, the issuer and the JWKS
 * URL in environment variables. NODE_EXTRA_CA_CERTS is how a Node service trusts the platform CA
 * for its JWKS fetch; a value it already had is kept by copying that file's certificates in too.
 */
export function serviceIdentityEnv(creds: Credentials, inherited: NodeJS.ProcessEnv = process.env): ServiceIdentityEnv {
  const where = jwksLocation(creds.info.edgeUrl)
  const dir = mkdtempSync(join(tmpdir(), 'mezu-tunnel-'))
  const caFile = join(dir, 'platform-ca.pem')
  let extra = ''
  if (inherited.NODE_EXTRA_CA_CERTS) {
    try {
      extra = readFileSync(inherited.NODE_EXTRA_CA_CERTS, 'utf8')
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we, by ignoring it
    }
  }
  writeFileSync(caFile, [creds.caPem.trim(), extra.trim()].filter(Boolean).join('\n') + '\n', {mode: 0o600})
  const remove = () => rmSync(dir, {recursive: true, force: true})
  process.once('exit', remove)
  return {
    env: {MEZU_ISSUER: where.issuer, MEZU_JWKS_URL: where.jwksUrl, NODE_EXTRA_CA_CERTS: caFile},
    remove() {
      process.off('exit', remove)
      remove()
    },
  }
}
