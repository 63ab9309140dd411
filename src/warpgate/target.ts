/** Where the local service is, as `mezu tunnel TARGET` was given it. */
export interface ServiceTarget {
  /** http(s)://host:port of the local service */
  url: string
  /** a service name suggested by the target (the periphery's mezu.json names it explicitly) */
  suggestedName: string
}

/** The error for a TARGET that is not a URL or a port; `field` names what was wrong. */
export class TargetError extends Error {
  override name = 'TargetError'
}

/**
 * TARGET as a URL (`http://127.0.0.1:3000`) or a port (`3000`). A service directory holding
 * mezu.json is resolved by the periphery's service-config.ts before this is called; this is
 * the seam where it plugs in.
 */
export function resolveTarget(target: string): ServiceTarget {
  if (/^\d{1,5}$/.test(target)) {
    const port = Number(target)
    if (port < 1 || port > 65535) throw new TargetError(`TARGET port must be from 1 to 65535, got ${target}`)
    return {url: `http://127.0.0.1:${port}`, suggestedName: `port-${port}`}
  }
  let u: URL
  try {
    u = new URL(target)
  } catch {
    throw new TargetError(`TARGET "${target}" is not a URL (http://127.0.0.1:3000) or a port (3000)`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TargetError(`TARGET must be an http:// or https:// URL, got ${u.protocol}`)
  if (u.pathname !== '/' || u.search) throw new TargetError('TARGET must be the service\'s base URL without a path, e.g. http://127.0.0.1:3000')
  const port = u.port || (u.protocol === 'https:' ? '443' : '80')
  return {url: `${u.protocol}//${u.host}`, suggestedName: `port-${port}`}
}
