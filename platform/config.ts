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
  }
  drainGraceMs: number
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
  const d = cfg.deviceLogin
  if (!(d.ttlMs > 0) || !Number.isInteger(d.intervalSeconds) || d.intervalSeconds < 1 || !(d.startsPerMinute > 0)) {
    throw new ConfigError('deviceLogin needs a positive ttlMs, a whole intervalSeconds of at least 1 and a positive startsPerMinute')
  }
  return cfg
}
