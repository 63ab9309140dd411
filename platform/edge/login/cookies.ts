import {CSRF_COOKIE, SESSION_COOKIE} from '../../../src/protocol/headers.js'

/** Set-Cookie values the edge writes. All host-only (__Host-: Secure, Path=/, no Domain). */
export function sessionCookieHeader(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`
}

export function clearSessionCookieHeader(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`
}

export function csrfCookieHeader(value: string): string {
  return `${CSRF_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict`
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const all = Array.isArray(header) ? header.join('; ') : header
  if (!all) return undefined
  for (const part of all.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
