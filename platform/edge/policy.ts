import ipaddr from 'ipaddr.js'
import type {Policy, PolicyRules} from '../../src/lib/api-types/index.js'

/**
 * Policy evaluation: pure, deny first. A refusal is a result with named reasons (Pomerium's
 * criteria reasons), so the caller can tell "log in" (user-unauthenticated) from "forbidden"
 * (user-unauthorized) and the reasons can reach the log and the error page.
 */
export type Who =
  | {kind: 'anonymous'}
  | {kind: 'user'; id: string; email: string; directoryIds: readonly string[]}
  | {kind: 'service'; id: string; name: string}

export type Reason =
  | 'public'
  | 'authenticated-user'
  | 'email-allowed'
  | 'directory-allowed'
  | 'service-account-allowed'
  | 'ip-denied'
  | 'ip-not-allowed'
  | 'email-denied'
  | 'directory-denied'
  | 'service-account-denied'
  | 'user-unauthenticated'
  | 'user-unauthorized'
  | 'invalid-client-ip'

export interface Decision {
  allow: boolean
  reasons: Reason[]
}

/**
 * Rules of a policy:
 * - deny rules are checked first and win (email, directory with sub-directories, service account, IP);
 * - `allow.ips`, when set, is a requirement: the client must come from one of the ranges;
 * - `public` opens the route to anyone who passes the deny and IP rules;
 * - otherwise the caller must be signed in, and when allow names emails, directories or service
 *   accounts the caller must match one of them; with none named, any signed-in user passes.
 * A null policy means any signed-in user (never a service account, never anonymous).
 */
export function evaluate(policy: Policy | null, who: Who, ip: string): Decision {
  if (!policy) {
    if (who.kind === 'user') return {allow: true, reasons: ['authenticated-user']}
    return {allow: false, reasons: [who.kind === 'anonymous' ? 'user-unauthenticated' : 'user-unauthorized']}
  }
  // Only IP rules read the address: a policy without any does not parse it on every request.
  const ipRules = policy.deny.ips.length > 0 || policy.allow.ips.length > 0
  const addr = ipRules ? parseIp(ip) : null
  if (ipRules && !addr) return {allow: false, reasons: ['invalid-client-ip']}

  const denied = matches(policy.deny, who, addr, 'denied')
  if (denied.length > 0) return {allow: false, reasons: denied}
  if (policy.allow.ips.length > 0 && !inRanges(addr!, policy.allow.ips)) return {allow: false, reasons: ['ip-not-allowed']}
  if (policy.public) return {allow: true, reasons: ['public']}
  if (who.kind === 'anonymous') return {allow: false, reasons: ['user-unauthenticated']}

  const a = policy.allow
  const namesSomeone = a.emails.length + a.directories.length + a.serviceAccounts.length > 0
  if (!namesSomeone) {
    return who.kind === 'user' ? {allow: true, reasons: ['authenticated-user']} : {allow: false, reasons: ['user-unauthorized']}
  }
  const allowed = matches(a, who, addr, 'allowed')
  return allowed.length > 0 ? {allow: true, reasons: allowed} : {allow: false, reasons: ['user-unauthorized']}
}

function matches(rules: PolicyRules, who: Who, addr: ipaddr.IPv4 | ipaddr.IPv6 | null, mode: 'allowed' | 'denied'): Reason[] {
  const out: Reason[] = []
  if (mode === 'denied' && addr && rules.ips.length > 0 && inRanges(addr, rules.ips)) out.push('ip-denied')
  if (who.kind === 'user') {
    const email = who.email.toLowerCase()
    if (rules.emails.some((e) => e.toLowerCase() === email)) out.push(mode === 'allowed' ? 'email-allowed' : 'email-denied')
    if (rules.directories.some((d) => who.directoryIds.includes(d))) out.push(mode === 'allowed' ? 'directory-allowed' : 'directory-denied')
  } else if (who.kind === 'service') {
    if (rules.serviceAccounts.includes(who.id)) out.push(mode === 'allowed' ? 'service-account-allowed' : 'service-account-denied')
  }
  return out
}

type Addr = ipaddr.IPv4 | ipaddr.IPv6

/** Parses a client address; IPv4-mapped IPv6 (::ffff:10.0.0.1, as Node reports on dual-stack sockets) becomes IPv4. */
export function parseIp(ip: string): Addr | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  if (!ipaddr.isValid(bare)) return null
  const a = ipaddr.parse(bare)
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a
}

/** Parsed ranges per rules array: a snapshot's arrays live until the next snapshot, so this parses once per policy version. */
const parsedRanges = new WeakMap<readonly string[], Array<[Addr, number]>>()

/** True when the address is in one of the CIDR ranges (a bare address counts as a /32 or /128). Bad ranges never match. */
export function inRanges(addr: Addr, ranges: readonly string[]): boolean {
  let parsed = parsedRanges.get(ranges)
  if (!parsed) {
    parsed = ranges.map(parseRange).filter((r): r is [Addr, number] => r !== null)
    parsedRanges.set(ranges, parsed)
  }
  for (const [net, bits] of parsed) if (net.kind() === addr.kind() && addr.match(net, bits)) return true
  return false
}

function parseRange(r: string): [Addr, number] | null {
  try {
    if (r.includes('/')) {
      const [net, bits] = ipaddr.parseCIDR(r)
      if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) return [(net as ipaddr.IPv6).toIPv4Address(), bits - 96]
      return [net, bits]
    }
    const a = parseIp(r)
    return a ? [a, a.kind() === 'ipv4' ? 32 : 128] : null
  } catch {
    return null
  }
}
