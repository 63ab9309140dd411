import {HEADER_JWT_ASSERTION, HEADER_SERVICE_TOKEN, HEADER_USER_EMAIL, HEADER_USER_ID, IDENTITY_HEADER_PREFIX, SESSION_COOKIE} from '../../src/protocol/headers.js'

/**
 * What the edge changes in a forwarded request's headers: every inbound identity header goes
 * (Mezu-* in any case, and Mezu_* because some origins fold "_" into "-"), the service token,
 * and the edge's own session cookie; then the edge's identity headers are added.
 */
export interface HeaderRewrite {
  /** lower-case names to drop from the inbound request */
  remove: string[]
  /** headers to set (overriding any inbound value) */
  set: Record<string, string>
}

const PREFIX_UNDERSCORE = IDENTITY_HEADER_PREFIX.replace('-', '_')

/** True for a header name the client may not send to an origin. */
export function isIdentityHeader(name: string): boolean {
  const lower = name.toLowerCase()
  return lower.startsWith(IDENTITY_HEADER_PREFIX) || lower.startsWith(PREFIX_UNDERSCORE) || lower === HEADER_SERVICE_TOKEN.toLowerCase()
}

/** Removes the session cookie from a Cookie header value; null when nothing remains. */
export function stripSessionCookie(cookie: string): string | null {
  const kept = cookie
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c.split('=')[0]!.trim() !== SESSION_COOKIE)
  return kept.length > 0 ? kept.join('; ') : null
}

export interface CallerIdentity {
  /** absent for an anonymous caller on a public route, who still gets an assertion proving the edge let them in */
  id?: string
  /** the email, or the service account's name */
  email?: string
  assertion: string
}

/** Computes the rewrite for a request with these raw headers (name, value, name, value, …). */
export function rewriteIdentityHeaders(rawHeaders: readonly string[], caller: CallerIdentity | null): HeaderRewrite {
  const remove = new Set<string>()
  const cookies: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    const lower = name.toLowerCase()
    if (isIdentityHeader(name)) remove.add(lower)
    else if (lower === 'cookie') cookies.push(rawHeaders[i + 1] ?? '')
  }
  const set: Record<string, string> = {}
  if (cookies.length > 0) {
    const kept = stripSessionCookie(cookies.join('; '))
    if (kept === null) remove.add('cookie')
    else set.cookie = kept
  }
  if (caller) {
    if (caller.id !== undefined) set[HEADER_USER_ID] = caller.id
    if (caller.email !== undefined) set[HEADER_USER_EMAIL] = caller.email
    set[HEADER_JWT_ASSERTION] = caller.assertion
  }
  return {remove: [...remove], set}
}

/** Applies a rewrite to a plain header object (used by tests and by forwarders that build one). */
export function applyRewrite(headers: Record<string, string | string[] | undefined>, rw: HeaderRewrite): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  const removed = new Set(rw.remove)
  const setLower = new Set(Object.keys(rw.set).map((k) => k.toLowerCase()))
  for (const [k, v] of Object.entries(headers)) if (!removed.has(k.toLowerCase()) && !setLower.has(k.toLowerCase())) out[k] = v
  for (const [k, v] of Object.entries(rw.set)) out[k] = v
  return out
}
