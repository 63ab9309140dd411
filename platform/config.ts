import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {type AcmeConfig, acmeFromSettings} from './acme-config.js'
import {CONFIG_FILE, readConfigFile} from './config-file.js'
import {checkValue, closest, ConfigError, derivedEnvName, envName, fromText, isWildcardHost, pathOf, SETTINGS, settingByKey, type Setting, type SettingSource, type SettingValue} from './settings.js'

export {ConfigError, isWildcardHost, urlHostname} from './settings.js'

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
  /** Edge node certificate lifetime. */
  edgeCertTtlMs: number
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
  /** Where the stores live: absent url = the SQLite files in the data directory. */
  store: {url?: string; passwordFile?: string}
  /** What the platform tells others to connect to, apart from what it binds (see Advertise). */
  advertise: Advertise
  /** Certificates for end users and the API from the operator's files (see CertificateFiles). */
  certificates: CertificateFiles
  /** `--metrics-addr` HOST:PORT: where /metrics, /healthz and /readyz are served over HTTP; absent = no metrics at all */
  metricsAddr?: string
  /** `--access-log`: a file for one JSON line per edge request, or '-' for stdout; absent = none */
  accessLog?: string
  /** what this process runs (`--role`): control plane and edge, the control plane alone, or an edge node */
  role: 'all' | 'control' | 'edge'
  /** an edge node's control plane, https://host:port (`--control-url`) */
  controlUrl?: string
  /** an edge node's one-time join token (`--join-token`), needed until it has enrolled */
  joinToken?: string
  /** argon2id strength; tests may use 'interactive' (default) */
  passwordStrength: 'interactive' | 'moderate'
  /** public certificates from an ACME CA (platform/acme-config.ts); on when acme.email is set, else the private CA's or the files' */
  acme: AcmeConfig
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
  /** https://host[:port] of the control API (advertise.apiUrl, `--advertise-api-url`) */
  apiUrl?: string
  /** tls://host[:port] of the edge's tunnel listener, one per address of the same edge (advertise.tunnelUrls, `--advertise-tunnel-url`) */
  tunnelUrls?: string[]
  /** the port in public route URLs (advertise.edgePort, `--advertise-edge-port`), e.g. 443 with a port mapping in front of 8443 */
  edgePort?: number
}

/** A PEM certificate (chain allowed) and its private key, re-read when either file changes. */
export interface CertFilePair {
  certFile: string
  keyFile: string
}

/**
 * Where the edge (tls.certFile/tls.keyFile, `--tls-cert/--tls-key`) and the API (apiTls.*,
 * `--api-tls-cert/--api-tls-key`) take their certificates from instead of the private CA.
 */
export interface CertificateFiles {
  edge?: CertFilePair
  api?: CertFilePair
  /** the stat check behind the file watch, for file systems where fs.watch misses changes (certificates.checkIntervalMs) */
  checkIntervalMs: number
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

/** The schema's defaults as a PlatformConfig without its data directory; every top-level group is there, if empty. */
function defaultConfig(): Omit<PlatformConfig, 'dataDir'> {
  const cfg: Record<string, unknown> = {}
  for (const s of SETTINGS) {
    const path = pathOf(s)
    if (path.includes('.')) cfg[path.split('.')[0]] ??= {}
    if (s.default !== undefined) setPath(cfg, path, Array.isArray(s.default) ? [...s.default] : s.default)
  }
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

function deletePath(target: Record<string, unknown>, key: string): void {
  const parts = key.split('.')
  const parent = getPath(target, parts.slice(0, -1).join('.'))
  if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[parts.at(-1)!]
}

/** Where a setting's value came from, for messages about settings that go together; undefined: from a caller of buildConfig. */
type Origins = (key: string) => {source: SettingSource; origin: string} | undefined

/**
 * A PlatformConfig from the schema's defaults and `input` (top-level fields replace the
 * default whole, e.g. all of `edge`), each setting checked against the schema and normalised (a
 * copy: `input` is not changed), an empty list counting as unset. Then the settings that go
 * together: a certificate file with its key file, a wildcard host with advertised tunnel URLs.
 * Their messages name flags, or with `origins` the file and line or variable a value came from.
 */
export function buildConfig(input: Partial<PlatformConfig> & {dataDir: string}, origins?: Origins): PlatformConfig {
  const cfg = structuredClone({masterKey: undefined, ...defaultConfig(), ...input}) as PlatformConfig
  // before the values: an empty key file is a missing one, not a bad path
  checkCertificatePairs(cfg, origins)
  for (const s of SETTINGS) {
    if (s.key === 'dataDir' || s.key === 'masterKey') continue
    const path = pathOf(s)
    const value = getPath(cfg, path)
    if (value === undefined && s.default === undefined) continue
    if (Array.isArray(value) && value.length === 0 && s.default === undefined) {
      deletePath(cfg as unknown as Record<string, unknown>, path)
      continue
    }
    const checked = checkValue(s, value)
    if (!checked.ok) throw new ConfigError(`${s.key} ${checked.problem}`)
    setPath(cfg as unknown as Record<string, unknown>, path, checked.value)
  }
  checkWildcardHost(cfg, origins)
  checkRole(cfg)
  cfg.acme = acmeFromSettings(cfg.acme, cfg.domain)
  return cfg
}

/** The certificate pairs: the group in PlatformConfig.certificates and the settings of its two files. */
const CERT_PAIRS = [['edge', 'tls.certFile', 'tls.keyFile'], ['api', 'apiTls.certFile', 'apiTls.keyFile']] as const

/** A certificate file without its key file, or the other way round, is refused; neither given leaves the pair out. */
function checkCertificatePairs(cfg: PlatformConfig, origins?: Origins): void {
  const given = (v: unknown) => typeof v === 'string' && v !== ''
  for (const [group, certKey, keyKey] of CERT_PAIRS) {
    const pair = cfg.certificates?.[group]
    if (!pair) continue
    if (given(pair.certFile) && given(pair.keyFile)) continue
    if (!given(pair.certFile) && !given(pair.keyFile)) {
      delete cfg.certificates[group]
      continue
    }
    const from = origins?.(given(pair.certFile) ? certKey : keyKey)
    const [cert, key] = [settingByKey(certKey)!, settingByKey(keyKey)!]
    throw new ConfigError(!from || from.source === 'flag'
      ? `--${cert.flag} and --${key.flag} go together: pass both`
      : `${from.origin}: ${certKey} and ${keyKey} go together: set both`, 'usage')
  }
}

/** An edge node needs its control plane and holds no store; the control-plane settings are refused for it. */
function checkRole(cfg: PlatformConfig): void {
  if (cfg.role !== 'edge') {
    if (cfg.controlUrl !== undefined || cfg.joinToken !== undefined) throw new ConfigError('--control-url and --join-token are for an edge node: pass --role edge too', 'usage')
    return
  }
  if (cfg.controlUrl === undefined) throw new ConfigError('--role edge needs --control-url https://HOST:PORT, the control plane\'s API address', 'usage')
  if (cfg.store?.url !== undefined) throw new ConfigError('an edge node holds no store: --store is for the control plane', 'usage')
  if (cfg.acme?.email !== undefined) throw new ConfigError('ACME certificates are ordered by the control plane\'s edge; an edge node serves the private CA\'s certificate or --tls-cert files', 'usage')
}

/** A wildcard bind means nothing to another machine: Warpgates must be told where to connect. */
function checkWildcardHost(cfg: PlatformConfig, origins?: Origins): void {
  if (!isWildcardHost(cfg.host) || cfg.advertise?.tunnelUrls?.length) return
  const from = origins?.('host')
  const why = 'listens on every interface, but Warpgates need an address they can reach'
  throw new ConfigError(!from || from.source === 'flag'
    ? `--host ${cfg.host} ${why}: pass --advertise-tunnel-url tls://HOST:PORT with this server's public name or IP (and --advertise-api-url https://HOST:PORT for links and the CLI)`
    : `${from.origin}: host ${cfg.host} ${why}: set advertise.tunnelUrls (or pass --advertise-tunnel-url) to tls://HOST:PORT with this server's public name or IP (and advertise.apiUrl to https://HOST:PORT for links and the CLI)`, 'usage')
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
    // An address flag is the subject of its own sentence, as issue 9 worded it ("--advertise-api-url must be a URL like …").
    if (!checked.ok) throw new ConfigError(`${source === 'flag' && s.addressExample ? origin : `${origin}: ${s.key}`} ${checked.problem}`)
    // A relative path given on the command line or in a variable is relative to the working
    // directory (in the file: to the file's directory). The data directory is used as given.
    const value = s.type === 'path' && s.key !== 'dataDir' ? resolve(checked.value as string) : checked.value
    if (!given.has(s.key)) given.set(s.key, {value, source, origin})
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
    if (value !== undefined) setPath(values, pathOf(s), value)
    settings.push({
      key: s.key, value: s.secret ? null : value ?? null, source: g?.source ?? 'default', origin: g?.origin ?? null, secret: !!s.secret, isSet: value !== undefined,
    })
  }
  return {config: buildConfig(values as unknown as PlatformConfig, (key) => given.get(key)), settings, configFile: {path: file.path, explicit, found: file.found}}
}
