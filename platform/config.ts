import {homedir} from 'node:os'
import {join} from 'node:path'
import {CONFIG_FILE, readConfigFile} from './config-file.js'
import {checkValue, closest, ConfigError, derivedEnvName, envName, fromText, SETTINGS, type Setting, type SettingSource, type SettingValue} from './settings.js'

export {ConfigError} from './settings.js'

/**
 * The platform's configuration: read once from flags, the environment and the config file,
 * validated against the settings schema (settings.ts), defaulted, then passed into constructors.
 * Nothing below reads process.env. A field here needs its entry in SETTINGS.
 */
export interface PlatformConfig {
  dataDir: string
  masterKey?: string
  host: string
  apiPort: number
  edgePort: number
  tunnelPort: number
  domain: string
  /** pino level of the platform's log */
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug'
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

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (env.MEZU_DATA_DIR) return env.MEZU_DATA_DIR
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'mezu')
  return join(homedir(), '.local', 'share', 'mezu')
}

/** The defaults of the bind settings, for callers that show them. */
export const DEFAULTS = {
  host: defaultOf('host') as string,
  apiPort: defaultOf('apiPort') as number,
  edgePort: defaultOf('edgePort') as number,
  tunnelPort: defaultOf('tunnelPort') as number,
  domain: defaultOf('domain') as string,
} as const

function defaultOf(key: string): SettingValue | undefined {
  return SETTINGS.find((s) => s.key === key)?.default
}

/** The schema's defaults as a PlatformConfig without its data directory. */
function defaultConfig(): Omit<PlatformConfig, 'dataDir'> {
  const cfg: Record<string, unknown> = {}
  for (const s of SETTINGS) if (s.default !== undefined) setPath(cfg, s.key, Array.isArray(s.default) ? [...s.default] : s.default)
  return cfg as unknown as Omit<PlatformConfig, 'dataDir'>
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>
  node[parts.at(-1)!] = value
}

function getPath(source: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), source)
}

/**
 * A PlatformConfig from the schema's defaults and `input` (top-level fields replace the
 * default whole, e.g. all of `edge`), each setting checked against the schema.
 */
export function buildConfig(input: Partial<PlatformConfig> & {dataDir: string}): PlatformConfig {
  const cfg = {masterKey: undefined, ...defaultConfig(), ...input} as PlatformConfig
  for (const s of SETTINGS) {
    if (s.key === 'dataDir' || s.key === 'masterKey') continue
    const value = getPath(cfg, s.key)
    if (value === undefined && s.default === undefined) continue
    const checked = checkValue(s, value)
    if (!checked.ok) throw new ConfigError(`${s.key} ${checked.problem}`)
  }
  return cfg
}

/** One setting as the platform will use it, and where its value came from. */
export interface EffectiveSetting {
  key: string
  /** null when unset; secrets are never carried here (see `isSet`) */
  value: SettingValue | null
  source: SettingSource
  /** the file and line, the variable or the flag that gave the value; null for defaults */
  origin: string | null
  secret: boolean
  /** whether a value is set, for secrets whose value is withheld */
  isSet: boolean
}

export interface ResolvedConfig {
  config: PlatformConfig
  settings: EffectiveSetting[]
  configFile: {path: string; explicit: boolean; found: boolean}
}

export interface ResolveInput {
  /** the command's parsed flags by flag name; a flag the user did not pass is undefined */
  flags: Record<string, unknown>
  /** --config, when given */
  configFile?: string
  env: NodeJS.ProcessEnv
}

const ENV_PREFIX = 'MEZU_PLATFORM_'

/**
 * The effective configuration: flags > MEZU_PLATFORM_* variables > config file > defaults, every
 * value checked where it was given. Throws ConfigError with one sentence naming the file and
 * line, the variable or the flag, and the key.
 */
export function resolvePlatformConfig(input: ResolveInput): ResolvedConfig {
  const given = new Map<string, {value: SettingValue; source: SettingSource; origin: string}>()
  const take = (s: Setting, raw: unknown, source: SettingSource, origin: string) => {
    const checked = checkValue(s, raw)
    if (!checked.ok) throw new ConfigError(`${origin}: ${s.key} ${checked.problem}`)
    if (!given.has(s.key)) given.set(s.key, {value: checked.value, source, origin})
  }
  for (const s of SETTINGS) {
    const raw = s.flag === undefined ? undefined : input.flags[s.flag]
    if (raw !== undefined && !(Array.isArray(raw) && raw.length === 0)) take(s, typeof raw === 'boolean' ? raw : fromText(s, raw as string | string[]), 'flag', `--${s.flag}`)
  }
  for (const name of Object.keys(input.env)) {
    if (!name.startsWith(ENV_PREFIX) || !input.env[name]) continue
    if (SETTINGS.some((s) => envName(s) === name)) continue
    const renamed = SETTINGS.find((s) => derivedEnvName(s.key) === name)
    if (renamed) throw new ConfigError(`${name} is not read; ${renamed.key} comes from ${envName(renamed)}`)
    const hint = closest(name, SETTINGS.filter((s) => envName(s).startsWith(ENV_PREFIX)).map((s) => envName(s)))
    throw new ConfigError(`${name}: unknown setting variable${hint ? `; did you mean ${hint}?` : ' (`mezu platform config` lists the settings)'}`)
  }
  for (const s of SETTINGS) {
    const text = input.env[envName(s)]
    if (text) take(s, fromText(s, text), 'env', envName(s))
  }
  const dataDir = (given.get('dataDir')?.value as string | undefined) ?? defaultDataDir({...input.env, MEZU_DATA_DIR: undefined})
  const explicit = input.configFile !== undefined
  const file = readConfigFile(input.configFile ?? join(dataDir, CONFIG_FILE), explicit)
  for (const f of file.settings) if (!given.has(f.key)) given.set(f.key, {value: f.value, source: 'file', origin: `${file.path}:${f.line}`})

  const values: Record<string, unknown> = {dataDir}
  const settings: EffectiveSetting[] = []
  for (const s of SETTINGS) {
    const g = given.get(s.key)
    const value = s.key === 'dataDir' ? dataDir : g?.value ?? s.default
    if (value !== undefined) setPath(values, s.key, value)
    settings.push({
      key: s.key, value: s.secret ? null : value ?? null, source: g?.source ?? 'default', origin: g?.origin ?? null, secret: !!s.secret, isSet: value !== undefined,
    })
  }
  return {config: buildConfig(values as unknown as PlatformConfig), settings, configFile: {path: file.path, explicit, found: file.found}}
}
