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
  /** `--metrics-addr`: where /metrics, /healthz and /readyz are served over HTTP; absent = no metrics at all */
  metricsAddr?: {host: string; port: number}
  /** `--access-log`: a file for one JSON line per edge request, or '-' for stdout; absent = none */
  accessLog?: string
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
    passwordStrength: 'interactive',
    ...input,
  }
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
