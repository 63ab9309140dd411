import {createHash, X509Certificate} from 'node:crypto'
import {TOKEN_PREFIX} from './tokens.js'

/**
 * An edge join token is `mezu_edge_<secret>.<pin>`: the one-time secret the control plane stores
 * hashed, and the SHA-256 of the platform CA's DER (base64url), so a new edge can fetch the CA
 * over an unverified connection and trust it only when it matches (kubeadm's discovery hash).
 */
export function caPin(caPem: string): string {
  return createHash('sha256').update(new X509Certificate(caPem).raw).digest('base64url')
}

export function formatJoinToken(secret: string, caPem: string): string {
  return `${secret}.${caPin(caPem)}`
}

/** Splits a join token; undefined when it is not one (wrong prefix, no pin, bad characters). */
export function parseJoinToken(token: string): {secret: string; pin: string} | undefined {
  const m = /^(mezu_edge_[A-Za-z0-9_-]{20,100})\.([A-Za-z0-9_-]{43})$/.exec(token.trim())
  if (!m || !m[1].startsWith(TOKEN_PREFIX.edgeJoin)) return undefined
  return {secret: m[1], pin: m[2]}
}
