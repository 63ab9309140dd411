import {isIP} from 'node:net'
import {homedir} from 'node:os'
import {join} from 'node:path'

/**
 * The platform's configuration: read once from flags and the environment, validated, defaulted,
 * then passed into constructors. Nothing below reads process.env.
 */
export interface PlatformConfig {
  dataDir: string
  masterKey?: string
  host: string
  apiPort: number
  edgePort: number
  tunnelPort: number
  domain: string
  /** Session: absolute lifetime and inactivity timeout. */
  sessionMaxAgeMs: number
  sessionIdleMs: number
  /** Failed logins and wrong web-login codes (see LoginLimits). */
  loginLimit: LoginLimits
  /** Largest JSON body the API accepts. */
  apiBodyLimitBytes: number
  /** Invitation lifetime. */
  inviteTtlMs: number
  /** `mezu login --web` (device authorization grant): code lifetime, poll interval, starts per client IP per minute. */
  deviceLogin: {ttlMs: number; intervalSeconds: number; startsPerMinute: number}
  /** Warpgate client certificate lifetime. */
  warpgateCertTtlMs: number
  /** Edge limits. */
  edge: {
    maxHeaderBytes: number
    maxUrlBytes: number
    headersTimeoutMs: number
    idleTimeoutMs: number
    requestTimeoutMs: number
    defaultBodyLimitBytes: number
    rateLimitPerMinute: number
    assertionTtlMs: number
    /** HTTP/2 streams one end-user connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
    maxConcurrentStreams: number
    /** Most time between two reads of a request body while the edge waits for it (nginx's client_body_timeout); 0 = none. */
    bodyTimeoutMs: number
    /** Slowest average request-body rate accepted once `bodyRateGraceMs` has passed (Kestrel's MinRequestBodyDataRate); 0 = none. */
    minBodyBytesPerSecond: number
    bodyRateGraceMs: number
    /**
     * HTTP/2 rapid reset: streams a client resets before the edge answered them spend a
     * per-connection bucket of `burst`, refilled at `perSecond`; when it is empty the edge sends
     * GOAWAY and closes the connection.
     */
    streamResets: {burst: number; perSecond: number}
  }
  drainGraceMs: number
  /** What the platform tells others to connect to, apart from what it binds (see Advertise). */
  advertise: Advertise
  /** Certificates for end users and the API from the operator's files (see CertificateFiles). */
  certificates: CertificateFiles
  /** argon2id strength; tests may use 'interactive' (default) */
  passwordStrength: 'interactive' | 'moderate'
}

/**
 * Failed logins, counted over `windowMs` three ways. One address against one account, and one
 * address over all accounts, are slowed and then refused for `lockMs`; one account over all
 * addresses is only ever slowed, so nobody can lock its owner out by failing on purpose.
 */
export interface LoginLimits {
  /** failures (of any of the three counts) after which each try is delayed */
  slowAfter: number
  /** failures of one address against one account before that address is refused for that account */
  lockAfter: number
  /** failures of one address over all accounts before the address is refused for every account */
  ipLockAfter: number
  windowMs: number
  lockMs: number
  /** the delay at `slowAfter` failures, and added to it for each failure after that */
  delayMs: number
  /** the longest any try is delayed: what the owner waits at worst while their account is attacked */
  maxDelayMs: number
}

/**
 * The addresses handed out (registration replies, invitation links, route URLs, `start --json`)
 * when they differ from the bound ones: a wildcard bind, NAT, or a port mapping in front.
 */
export interface Advertise {
  /** https://host[:port] of the control API (`--advertise-api-url`) */
  apiUrl?: string
  /** tls://host[:port] of the edge's tunnel listener, one per address of the same edge (`--advertise-tunnel-url`) */
  tunnelUrls?: string[]
  /** the port in public route URLs (`--advertise-edge-port`), e.g. 443 with a port mapping in front of 8443 */
  edgePort?: number
}

/** A PEM certificate (chain allowed) and its private key, re-read when either file changes. */
export interface CertFilePair {
  certFile: string
  keyFile: string
}

/** Where the edge (`--tls-cert/--tls-key`) and the API (`--api-tls-cert/--api-tls-key`) take their certificates from instead of the private CA. */
export interface CertificateFiles {
  edge?: CertFilePair
  api?: CertFilePair
  /** the stat check behind the file watch, for file systems where fs.watch misses changes */
  checkIntervalMs: number
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (env.MEZU_DATA_DIR) return env.MEZU_DATA_DIR
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'mezu')
  return join(homedir(), '.local', 'share', 'mezu')
}

export const DEFAULTS = {
  host: '127.0.0.1',
  apiPort: 7443,
  edgePort: 8443,
  tunnelPort: 7444,
  domain: 'mezu.localhost',
  certificateCheckIntervalMs: 30_000,
} as const

export function buildConfig(input: Partial<PlatformConfig> & {dataDir: string}): PlatformConfig {
  const cfg: PlatformConfig = {
    masterKey: undefined,
    host: DEFAULTS.host,
    apiPort: DEFAULTS.apiPort,
    edgePort: DEFAULTS.edgePort,
    tunnelPort: DEFAULTS.tunnelPort,
    domain: DEFAULTS.domain,
    sessionMaxAgeMs: 7 * DAY,
    sessionIdleMs: DAY,
    loginLimit: {slowAfter: 3, lockAfter: 10, ipLockAfter: 30, windowMs: 15 * MIN, lockMs: 15 * MIN, delayMs: 250, maxDelayMs: 5000},
    apiBodyLimitBytes: 1024 * 1024,
    inviteTtlMs: 7 * DAY,
    deviceLogin: {ttlMs: 10 * MIN, intervalSeconds: 5, startsPerMinute: 20},
    warpgateCertTtlMs: DAY,
    edge: {
      maxHeaderBytes: 16 * 1024,
      maxUrlBytes: 8 * 1024,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      // Time for the origin to send response headers before the edge answers 504 (Cloudflare's is 100 s).
      requestTimeoutMs: 100_000,
      defaultBodyLimitBytes: 1024 * 1024 * 1024,
      rateLimitPerMinute: 6000,
      assertionTtlMs: 5 * MIN,
      // nginx's default; each stream may hold up to a tunnel stream window at the edge.
      maxConcurrentStreams: 128,
      bodyTimeoutMs: 60_000,
      minBodyBytesPerSecond: 240,
      bodyRateGraceMs: 5_000,
      streamResets: {burst: 200, perSecond: 10},
    },
    drainGraceMs: 30_000,
    advertise: {},
    certificates: {checkIntervalMs: DEFAULTS.certificateCheckIntervalMs},
    passwordStrength: 'interactive',
    ...input,
  }
  cfg.advertise = checkAdvertise(cfg.advertise, cfg.host)
  checkCertificateFiles(cfg.certificates)
  for (const [name, port] of [['api-port', cfg.apiPort], ['edge-port', cfg.edgePort], ['tunnel-port', cfg.tunnelPort]] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--${name} must be a port number from 0 to 65535, got ${port}`)
  }
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/.test(cfg.domain)) {
    throw new ConfigError(`--domain must be a DNS name like mezu.localhost, got "${cfg.domain}"`)
  }
  if (cfg.sessionIdleMs <= 0 || cfg.sessionMaxAgeMs <= 0) throw new ConfigError('session lifetimes must be positive')
  const l = cfg.loginLimit
  const whole = (n: number, min: number) => Number.isInteger(n) && n >= min
  if (!whole(l.slowAfter, 0) || !whole(l.lockAfter, 1) || !whole(l.ipLockAfter, 1) || !(l.windowMs > 0) || !(l.lockMs > 0) || !(l.delayMs >= 0) || !(l.maxDelayMs >= 0 && l.maxDelayMs <= MIN)) {
    throw new ConfigError('loginLimit needs whole slowAfter (0 or more), lockAfter and ipLockAfter (1 or more), positive windowMs and lockMs, delayMs of 0 or more and maxDelayMs from 0 to 60000')
  }
  const e = cfg.edge
  if (!Number.isInteger(e.maxConcurrentStreams) || e.maxConcurrentStreams < 1 || e.maxConcurrentStreams > 1000) {
    throw new ConfigError(`edge.maxConcurrentStreams must be a whole number from 1 to 1000, got ${e.maxConcurrentStreams}`)
  }
  if (!(e.bodyTimeoutMs >= 0) || !(e.minBodyBytesPerSecond >= 0) || !(e.bodyRateGraceMs >= 0)) {
    throw new ConfigError('edge.bodyTimeoutMs, edge.minBodyBytesPerSecond and edge.bodyRateGraceMs must be 0 or more')
  }
  // nghttp2 has a reset limit of its own (1000, then 33 a second) whose GOAWAY leaves the socket
  // open; the edge's must be reached first.
  const r = e.streamResets
  if (!Number.isInteger(r?.burst) || r.burst < 1 || r.burst > 999 || !(r.perSecond >= 0 && r.perSecond <= 33)) {
    throw new ConfigError(`edge.streamResets needs a whole burst from 1 to 999 and a perSecond from 0 to 33, got ${JSON.stringify(r)}`)
  }
  const d = cfg.deviceLogin
  if (!(d.ttlMs > 0) || !Number.isInteger(d.intervalSeconds) || d.intervalSeconds < 1 || !(d.startsPerMinute > 0)) {
    throw new ConfigError('deviceLogin needs a positive ttlMs, a whole intervalSeconds of at least 1 and a positive startsPerMinute')
  }
  return cfg
}

/** True for 0.0.0.0, :: and their spellings: a bind on every interface. */
export function isWildcardHost(host: string): boolean {
  if (isIP(host) === 4) return host.split('.').every((p) => Number(p) === 0)
  if (isIP(host) === 6) return /^[0:]+$/.test(host)
  return false
}

/** A URL's host without IPv6 brackets. */
export function urlHostname(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '')
}

function checkAdvertise(a: Advertise, host: string): Advertise {
  const out: Advertise = {}
  if (a.apiUrl !== undefined) {
    const u = parseAddress(a.apiUrl, 'advertise-api-url', 'https:', 'https://mezu.example.com:7443')
    out.apiUrl = `https://${u.host}`
  }
  if (a.tunnelUrls?.length) {
    out.tunnelUrls = [...new Set(a.tunnelUrls.map((raw) => {
      const u = parseAddress(raw, 'advertise-tunnel-url', 'tls:', 'tls://203.0.113.10:7444')
      return `tls://${u.host}`
    }))]
  }
  if (a.edgePort !== undefined) {
    if (!Number.isInteger(a.edgePort) || a.edgePort < 1 || a.edgePort > 65535) throw new ConfigError(`--advertise-edge-port must be a port number from 1 to 65535, got ${a.edgePort}`)
    out.edgePort = a.edgePort
  }
  if (isWildcardHost(host) && !out.tunnelUrls) {
    throw new ConfigError(`--host ${host} listens on every interface, but Warpgates need an address they can reach: pass --advertise-tunnel-url tls://HOST:PORT with this server's public name or IP (and --advertise-api-url https://HOST:PORT for links and the CLI)`)
  }
  return out
}

function parseAddress(raw: string, flag: string, scheme: string, example: string): URL {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new ConfigError(`--${flag} must be a URL like ${example}, got "${raw}"`)
  }
  const bad = u.protocol !== scheme ? `its scheme must be ${scheme.slice(0, -1)}` : u.username || u.password ? 'it may not hold a user or password'
    : (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash ? 'give the address only, without a path or query'
      : !u.hostname ? 'it has no host' : isWildcardHost(urlHostname(raw)) ? 'a wildcard address cannot be connected to' : ''
  if (bad) throw new ConfigError(`--${flag} must be a URL like ${example}, got "${raw}": ${bad}`)
  return u
}

function checkCertificateFiles(c: CertificateFiles): void {
  for (const [pair, cert, key] of [[c.edge, 'tls-cert', 'tls-key'], [c.api, 'api-tls-cert', 'api-tls-key']] as const) {
    if (pair && (!pair.certFile || !pair.keyFile)) throw new ConfigError(`--${cert} and --${key} go together: pass both`)
  }
  if (!(c.checkIntervalMs >= 100)) throw new ConfigError(`certificates.checkIntervalMs must be at least 100, got ${c.checkIntervalMs}`)
}
