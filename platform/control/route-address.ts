import {ApiError} from './errors.js'

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * A route's hostname: lower-cased, a trailing dot dropped, a bare label ("hello") placed under
 * the platform domain. Anything that is not a DNS name is a 400 naming the field.
 */
export function normaliseHostname(input: string, domain: string): string {
  const raw = input.toLowerCase().replace(/\.$/, '')
  const refuse = (why: string) => new ApiError('invalid_request', `hostname "${input}" is not valid: ${why}`, 'hostname')
  if (raw.length === 0) throw refuse('it is empty')
  if (/\s/.test(raw)) throw refuse('it contains a space')
  if (raw.includes(':') || raw.includes('/')) throw refuse('give the name only, without a scheme, port or path')
  const host = raw.includes('.') ? raw : `${raw}.${domain}`
  if (host.length > 253) throw refuse('it is longer than 253 characters')
  const labels = host.split('.')
  const bad = labels.find((l) => !LABEL.test(l))
  if (bad !== undefined) throw refuse(`the label "${bad}" must be 1 to 63 letters, digits or "-", not starting or ending with "-"`)
  if (/^\d+$/.test(labels.at(-1)!)) throw refuse('an IP address is not a hostname')
  // The edge serves its login pages there; a route must not shadow them.
  if (host === `auth.${domain}`) throw refuse(`auth.${domain} is reserved for the login pages`)
  return host
}

/**
 * A route's path prefix: starts with "/", repeated slashes collapsed, no trailing slash except
 * for "/" itself. Dot segments and encoded slashes are refused: the edge matches on segment
 * boundaries, and an ambiguous prefix would let a request slip past the route meant for it.
 */
export function normalisePathPrefix(input: string): string {
  const refuse = (why: string) => new ApiError('invalid_request', `path "${input}" is not valid: ${why}`, 'path')
  if (!input.startsWith('/')) throw refuse('it must start with "/"')
  if (/[\s?#\\]/.test(input)) throw refuse('it may not contain spaces, "?", "#" or "\\"')
  if (/%2f|%5c/i.test(input)) throw refuse('encoded slashes (%2F, %5C) are not allowed')
  if (/%(?![0-9a-f]{2})/i.test(input)) throw refuse('"%" must start a percent-encoded byte')
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/.test(input)) throw refuse('it has characters a URL path cannot hold unencoded')
  const segments = input.split('/').filter((s) => s.length > 0)
  if (segments.some((s) => s === '.' || s === '..' || /^(%2e|\.){1,2}$/i.test(s))) throw refuse('"." and ".." segments are not allowed')
  return '/' + segments.join('/')
}

/** The public URL of a route: https, the edge's port unless it is 443, then the path. */
export function routeUrl(hostname: string, pathPrefix: string, edgePort: number): string {
  return `https://${hostname}${edgePort === 443 ? '' : `:${edgePort}`}${pathPrefix}`
}

/** The port end users reach the edge on: from its bound URL when known, else the configured one. */
export function edgePortOf(edgeUrl: string, configured: number): number {
  if (edgeUrl) {
    try {
      const u = new URL(edgeUrl)
      return u.port ? Number(u.port) : 443
    } catch {
      // fall through to the configured port
    }
  }
  return configured
}
