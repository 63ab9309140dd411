import type {Route} from '../../../src/lib/api-types/index.js'
import {normalisePath, pathUnder} from '../path.js'

/**
 * Open-redirect defence: a return URL is accepted only when it is https, on the edge's public
 * port, and names a known route's host and path. Everything else is refused (the caller then
 * uses the safe default).
 */
export function acceptReturnUrl(raw: unknown, routes: readonly Route[], publicPort: number): {url: string; host: string} | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return null
  // Browsers read "\" as "/" and skip tabs and newlines, so such a string may go somewhere the parser did not say.
  if (/[\\\s\u0000-\u001f\u007f]/.test(raw)) return null
  if (!raw.startsWith('https://')) return null
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return null
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '') return null
  const port = u.port === '' ? 443 : Number(u.port)
  if (port !== publicPort) return null
  const host = u.hostname.toLowerCase()
  const path = normalisePath(u.pathname + u.search)
  if (!path.ok) return null
  if (!routes.some((r) => r.hostname.toLowerCase() === host && pathUnder(path.path, r.pathPrefix))) return null
  return {url: u.toString(), host}
}

/** https://<host>[:port] as browsers see the edge. */
export function edgeOrigin(host: string, publicPort: number): string {
  return `https://${host}${publicPort === 443 ? '' : `:${publicPort}`}`
}

/** The web-login approval page, the one place on the login host itself a sign-in may return to. */
export const DEVICE_PAGE_PATH = '/device'

/**
 * Accepts https://auth.<domain>[:port]/device with at most a `code` parameter (so signing in can
 * continue to the approval page); anything else on the login host is refused.
 */
export function acceptDevicePageUrl(raw: unknown, authHost: string, publicPort: number): {url: string; host: string} | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512) return null
  if (/[\\\s\u0000-\u001f\u007f]/.test(raw) || !raw.startsWith('https://')) return null
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return null
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.password !== '' || u.hash !== '') return null
  if ((u.port === '' ? 443 : Number(u.port)) !== publicPort || u.hostname.toLowerCase() !== authHost) return null
  if (u.pathname !== DEVICE_PAGE_PATH) return null
  const keys = [...u.searchParams.keys()]
  if (keys.some((k) => k !== 'code') || keys.length > 1 || (u.searchParams.get('code') ?? '').length > 32) return null
  return {url: u.toString(), host: authHost}
}
