import {isIP} from 'node:net'
import {ApiError} from './errors.js'

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** At most this many DNS names, and as many IPs, an edge may ask for beside the platform's own. */
export const MAX_EDGE_NAMES = 20

/**
 * The names an edge node's certificate carries: always the platform's domain, its wildcard, the
 * login host and loopback (what the in-process edge serves under), then the names the edge asked
 * for. Each requested name must be a hostname or IP; the only wildcard allowed is `*.<domain>`,
 * so an enrolled edge can never be handed a certificate for someone else's zone.
 */
export function edgeCertNames(domain: string, requested: {dns?: readonly string[]; ips?: readonly string[]}): {dns: string[]; ips: string[]} {
  const dns = new Set([`*.${domain}`, `auth.${domain}`, domain, 'localhost'])
  const ips = new Set(['127.0.0.1', '::1'])
  for (const [i, raw] of (requested.dns ?? []).entries()) dns.add(hostname(raw, domain, `dns.${i}`))
  for (const [i, raw] of (requested.ips ?? []).entries()) {
    if (isIP(raw) === 0) throw new ApiError('invalid_request', `ips: "${raw}" is not an IPv4 or IPv6 address`, `ips.${i}`)
    ips.add(raw.toLowerCase())
  }
  return {dns: [...dns], ips: [...ips]}
}

function hostname(input: string, domain: string, field: string): string {
  const refuse = (why: string) => new ApiError('invalid_request', `dns: "${input}" is not valid: ${why}`, field)
  const host = input.toLowerCase().replace(/\.$/, '')
  if (host === `*.${domain}`) return host
  if (host.startsWith('*')) throw refuse(`the only wildcard an edge certificate may carry is *.${domain}`)
  if (isIP(host) !== 0) throw refuse('an IP address belongs in ips')
  if (host.length === 0 || host.length > 253) throw refuse('a DNS name is 1 to 253 characters')
  const labels = host.split('.')
  const bad = labels.find((l) => !LABEL.test(l))
  if (bad !== undefined) throw refuse(`the label "${bad}" must be 1 to 63 letters, digits or "-", not starting or ending with "-"`)
  if (/^\d+$/.test(labels.at(-1)!)) throw refuse('the last label of a DNS name is not all digits')
  return host
}
