import {readFileSync, statSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {MezuError} from '../lib/errors.js'

/** The file a service directory holds. */
export const SERVICE_FILE = 'mezu.json'

/** Same rule as the API's Name (platform/control/schemas.ts), so a service name is always a valid route service. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const NAME_RULE = 'letters, digits, "-", "_" and "." (starting with a letter or digit), at most 63 characters'
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** A route the Warpgate ensures for its service. */
export interface ServiceRoute {
  hostname: string
  /** path prefix, starting with "/" */
  path?: string
  /** policy name within the project */
  policy?: string
}

/** A validated mezu.json. */
export interface ServiceConfig {
  name: string
  /** the local service's base URL: http(s)://host:port */
  url: string
  /** argv (run as is) or a string (see service-process.ts for when a shell runs it) */
  command?: string | string[]
  env?: Record<string, string>
  /** a path starting with "/" the service answers with < 500 when healthy */
  healthcheck?: string
  routes?: ServiceRoute[]
  readyTimeoutMs?: number
}

/** What `mezu tunnel TARGET` serves: a service directory, a URL or a port. */
export interface ServiceTarget extends ServiceConfig {
  /** the service directory (commands run there); absent for URL and port targets */
  cwd?: string
  /** the mezu.json it came from */
  file?: string
}

/** A mezu.json (or a TARGET) that cannot be used; the message names the file and the field. */
export class ServiceConfigError extends MezuError {
  override name = 'ServiceConfigError'
  constructor(readonly file: string, readonly field: string | undefined, message: string) {
    super('bad_input', field ? `${file}: "${field}" ${message}` : `${file}: ${message}`)
  }
}

const KNOWN = new Set(['name', 'url', 'port', 'command', 'env', 'healthcheck', 'routes', 'readyTimeoutMs'])
const ROUTE_KNOWN = new Set(['hostname', 'path', 'policy'])

/** Reads and validates DIR/mezu.json (or the file itself when given a path to it). */
export function loadServiceConfig(path: string): ServiceTarget {
  const file = basename(path) === SERVICE_FILE ? path : join(path, SERVICE_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ServiceConfigError(file, undefined, code === 'ENOENT' ? 'not found; a service directory needs a mezu.json (mezu init creates one)' : `cannot be read (${code ?? (error as Error).message})`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ServiceConfigError(file, undefined, `is not valid JSON: ${(error as Error).message}`)
  }
  return {...parseServiceConfig(raw, file), cwd: dirname(resolve(file)), file}
}

/** Validates a parsed mezu.json; `file` only names the source in errors. Pure. */
export function parseServiceConfig(raw: unknown, file = SERVICE_FILE): ServiceConfig {
  const fail = (field: string | undefined, message: string): never => {
    throw new ServiceConfigError(file, field, message)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(undefined, `must hold a JSON object, got ${describe(raw)}`)
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) fail(k, `is not a known field (known: ${[...KNOWN].join(', ')})`)

  if (o.name === undefined) fail('name', 'is required')
  if (typeof o.name !== 'string' || !NAME_PATTERN.test(o.name)) fail('name', `must be ${NAME_RULE}, got ${describe(o.name)}`)

  if (o.url !== undefined && o.port !== undefined) fail('url', 'and "port" cannot both be set; give one')
  let url: string
  if (o.url !== undefined) {
    if (typeof o.url !== 'string') return fail('url', `must be a string like http://127.0.0.1:3000, got ${describe(o.url)}`)
    const parsed = parseServiceUrl(o.url)
    if (typeof parsed !== 'string') return fail('url', parsed.error)
    url = parsed
  } else if (o.port !== undefined) {
    if (!isPort(o.port)) fail('port', `must be an integer from 1 to 65535, got ${describe(o.port)}`)
    url = `http://127.0.0.1:${o.port as number}`
  } else {
    return fail(undefined, 'needs "url" or "port": where the service listens')
  }

  const out: ServiceConfig = {name: o.name as string, url}
  if (o.command !== undefined) {
    const c = o.command
    const isArgv = Array.isArray(c) && c.length > 0 && c.every((a) => typeof a === 'string') && (c[0] as string).trim() !== ''
    if (!(typeof c === 'string' && c.trim() !== '') && !isArgv) fail('command', `must be a non-empty string or a non-empty array of strings, got ${describe(c)}`)
    out.command = Array.isArray(c) ? [...(c as string[])] : (c as string)
  }
  if (o.env !== undefined) {
    if (typeof o.env !== 'object' || o.env === null || Array.isArray(o.env)) fail('env', `must be an object of strings, got ${describe(o.env)}`)
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(o.env as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) fail(`env.${k}`, 'is not a valid environment variable name')
      if (typeof v !== 'string') fail(`env.${k}`, `must be a string, got ${describe(v)}`)
      env[k] = v as string
    }
    out.env = env
  }
  if (o.healthcheck !== undefined) {
    if (typeof o.healthcheck !== 'string' || !o.healthcheck.startsWith('/') || /[\s#]/.test(o.healthcheck)) fail('healthcheck', `must be a path starting with "/", got ${describe(o.healthcheck)}`)
    out.healthcheck = o.healthcheck as string
  }
  if (o.routes !== undefined) {
    if (!Array.isArray(o.routes)) return fail('routes', `must be an array of {hostname, path?, policy?}, got ${describe(o.routes)}`)
    out.routes = o.routes.map((r, i) => parseRoute(r, `routes[${i}]`, fail))
  }
  if (o.readyTimeoutMs !== undefined) {
    const v = o.readyTimeoutMs
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 600_000) fail('readyTimeoutMs', `must be an integer from 1 to 600000 (ms), got ${describe(v)}`)
    out.readyTimeoutMs = v as number
  }
  return out
}

function parseRoute(r: unknown, at: string, fail: (field: string, message: string) => never): ServiceRoute {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail(at, `must be an object {hostname, path?, policy?}, got ${describe(r)}`)
  const o = r as Record<string, unknown>
  for (const k of Object.keys(o)) if (!ROUTE_KNOWN.has(k)) fail(`${at}.${k}`, 'is not a known field (known: hostname, path, policy)')
  if (typeof o.hostname !== 'string' || !HOSTNAME_PATTERN.test(o.hostname)) fail(`${at}.hostname`, `must be a hostname like hello.mezu.localhost, got ${describe(o.hostname)}`)
  const route: ServiceRoute = {hostname: (o.hostname as string).toLowerCase()}
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || !o.path.startsWith('/') || /[\s?#]/.test(o.path)) fail(`${at}.path`, `must be a path prefix starting with "/", got ${describe(o.path)}`)
    route.path = o.path as string
  }
  if (o.policy !== undefined) {
    if (typeof o.policy !== 'string' || !NAME_PATTERN.test(o.policy)) fail(`${at}.policy`, `must be a policy name (${NAME_RULE}), got ${describe(o.policy)}`)
    route.policy = o.policy as string
  }
  return route
}

/** http(s)://host[:port] with nothing after it; returns the normal form or why it is refused. */
export function parseServiceUrl(s: string): string | {error: string} {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return {error: `must be a URL like http://127.0.0.1:3000, got ${JSON.stringify(s)}`}
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return {error: `must use http:// or https://, got ${JSON.stringify(s)}`}
  if (u.username || u.password) return {error: 'must not carry a user name or password'}
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return {error: `must be only scheme, host and port (no path, query or fragment), got ${JSON.stringify(s)}`}
  return `${u.protocol}//${u.host}`
}

function isPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '…' : v)
  if (Array.isArray(v)) return 'an array'
  if (v === null) return 'null'
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

/**
 * TARGET of `mezu tunnel`: a port ("3000"), a URL ("http://127.0.0.1:3000"), host:port, or a
 * service directory with a mezu.json. `name` names URL and port targets (default "local-<port>").
 */
export function resolveTarget(target: string, opts: {name?: string} = {}): ServiceTarget {
  const t = target.trim()
  const named = (url: string): ServiceTarget => {
    const name = opts.name ?? `local-${new URL(url).port || (url.startsWith('https:') ? '443' : '80')}`
    if (!NAME_PATTERN.test(name)) throw new ServiceConfigError('--name', undefined, `must be ${NAME_RULE}, got ${JSON.stringify(name)}`)
    return {name, url}
  }
  if (/^\d+$/.test(t)) {
    const port = Number(t)
    // A malformed TARGET is a usage error (exit 2), as `mezu tunnel`'s contract says.
    if (!isPort(port)) throw new MezuError('usage', `TARGET port must be from 1 to 65535, got ${t}`)
    return named(`http://127.0.0.1:${port}`)
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    const url = parseServiceUrl(t)
    if (typeof url !== 'string') throw new MezuError('usage', `TARGET ${url.error}`)
    return named(url)
  }
  const kind = statKind(t)
  if (kind === 'dir' || (kind === 'file' && basename(t) === SERVICE_FILE)) {
    const service = loadServiceConfig(t)
    return opts.name ? {...service, name: named(service.url).name} : service
  }
  if (kind === 'none' && /^[A-Za-z0-9.-]+:\d+$/.test(t)) {
    const url = parseServiceUrl(`http://${t}`)
    if (typeof url === 'string') return named(url)
  }
  throw new MezuError('bad_input', kind === 'file'
    ? `TARGET ${t} is a file; give its directory (holding ${SERVICE_FILE}), a URL or a port`
    : `TARGET ${JSON.stringify(t)} is not a port, a URL or a service directory (no such directory)`)
}

function statKind(p: string): 'dir' | 'file' | 'none' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file'
  } catch {
    return 'none'
  }
}
