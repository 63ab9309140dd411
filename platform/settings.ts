import {isIP} from 'node:net'

/**
 * The platform's settings schema: every setting of PlatformConfig, once. The config file
 * (platform.yaml), the MEZU_PLATFORM_* variables, the `mezu platform start` flags, `mezu platform
 * config` and the README's config reference are all derived from SETTINGS, so adding a setting is
 * one entry here, plus its field in PlatformConfig, then `npm run docs:config` (a unit test fails
 * while the README's reference is stale). A setting without a default is left out of the config
 * object when unset, and so is a nested group whose settings are all unset (certificates.edge):
 * type such fields optional. A top-level group is always there, empty if need be (advertise).
 */

/**
 * A config file, a variable or a flag the platform cannot use; the message is one sentence naming
 * where and which key. `usage`: a setting lacks another it needs (a wildcard host without an
 * advertised tunnel address, a certificate without its key), rather than a value being wrong.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(message: string, readonly code: 'bad_config' | 'usage' = 'bad_config') {
    super(message)
  }
}

export type SettingValue = string | number | boolean | string[]

export type SettingType =
  /** a whole number within min..max */
  | 'integer'
  /** any finite number within min..max */
  | 'number'
  | 'boolean'
  /** free text, of the form `pattern` when given */
  | 'string'
  /** one of `values` */
  | 'enum'
  /** an address with one of `schemes` (https by default), e.g. https:// or tls:// */
  | 'url'
  /** a file path; relative paths in the config file are relative to the file's directory */
  | 'path'
  /** a list of strings (YAML sequence, comma-separated in a variable, a repeated flag); of URLs when `schemes` is set */
  | 'list'

export type SettingSource = 'default' | 'file' | 'env' | 'flag'

export interface Setting {
  /** dotted path into PlatformConfig; also the key in platform.yaml */
  key: string
  /** where the value sits in PlatformConfig when that is not `key` (tls.certFile → certificates.edge.certFile) */
  path?: string
  type: SettingType
  /** undefined: unset unless given (an optional setting) */
  default?: SettingValue
  /** how the default reads in docs when it is computed at start */
  defaultText?: string
  min?: number
  max?: number
  values?: readonly string[]
  schemes?: readonly string[]
  /**
   * For a url (or list of URLs) the platform hands out to others: an example for messages ("must be
   * a URL like …"). Such a URL is one scheme (the first of `schemes`) and host[:port] only, without
   * a path, query, user or wildcard host, and is normalised to that form (a list also loses duplicates).
   */
  addressExample?: string
  /** for strings: the form a value must have, and how that form reads in messages ("a DNS name like mezu.localhost") */
  pattern?: RegExp
  shape?: string
  /** applied before checking (e.g. lower-casing a domain) */
  normalize?: (value: string) => string
  /** one line for the README and `mezu platform config` */
  description: string
  /** redacted by `mezu platform config` */
  secret?: boolean
  /** the `mezu platform start` / `mezu platform config` flag, without dashes */
  flag?: string
  /** the variable, when not the derived MEZU_PLATFORM_<KEY> (kept for variables older than this schema) */
  env?: string
  /** false: never read from the config file (what locates the file, secrets) */
  inFile?: boolean
}

const SECOND = 1000
const MIN = 60 * SECOND
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const KIB = 1024
const MIB = 1024 * KIB
const GIB = 1024 * MIB
const PORT = {type: 'integer', min: 0, max: 65535} as const

/** HOST:PORT, [IPv6]:PORT or :PORT, the port 0-65535 (src/lib/listen-address.ts reads it) */
const LISTEN_ADDRESS = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s]*):(?:[0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/

export const SETTINGS: readonly Setting[] = [
  // Where the platform keeps its state, and its key. Neither comes from the file: the data
  // directory holds the file, and the key must not sit in a file beside what it protects.
  {key: 'dataDir', type: 'path', defaultText: '$XDG_DATA_HOME/mezu, else ~/.local/share/mezu', description: 'Data directory: stores, master.key, CA, platform.yaml.', flag: 'data-dir', env: 'MEZU_DATA_DIR', inFile: false},
  {key: 'masterKey', type: 'string', defaultText: 'the master.key file in the data directory', description: 'Master key (`v<N>:<base64>`) instead of the master.key file.', secret: true, env: 'MEZU_MASTER_KEY', inFile: false},

  // Where the stores live: the SQLite files in the data directory unless a PostgreSQL URL is given
  // (PlatformConfig.store). The master key stays with the control plane either way.
  {key: 'store.url', type: 'string', pattern: /^postgres(ql)?:\/\/\S+$/, shape: 'a URL like postgres://mezu@db.example.com:5432/mezu', defaultText: 'SQLite files in the data directory', description: 'PostgreSQL database for both stores (identity and configuration schemas), e.g. postgres://mezu@db:5432/mezu.', secret: true, flag: 'store', env: 'MEZU_STORE_URL'},
  {key: 'store.passwordFile', type: 'path', description: 'File holding the PostgreSQL password, so it stays out of the URL and the process list; needs store.url.', flag: 'store-password-file', env: 'MEZU_STORE_PASSWORD_FILE'},

  // Which parts run here: control plane and edge together (one process), or either alone, an edge
  // node fed by a control plane over the edge channel (PlatformConfig.role, platform/edge-node.ts).
  {key: 'role', type: 'enum', values: ['all', 'control', 'edge'], default: 'all', description: 'What this process runs: all (control plane and edge), control (API and edge channel, no edge), or edge (an edge node fed by --control-url).', flag: 'role', env: 'MEZU_ROLE'},
  {key: 'controlUrl', type: 'url', schemes: ['https'], addressExample: 'https://control.example.com:7443', description: 'An edge node\'s control plane (its API address); needs role edge.', flag: 'control-url', env: 'MEZU_CONTROL_URL'},
  {key: 'joinToken', type: 'string', pattern: /^mezu_edge_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, shape: 'a token from `mezu edges create`', description: 'One-time token an edge node enrols with on its first start (`mezu edges create`); needs role edge.', secret: true, flag: 'join-token', env: 'MEZU_JOIN_TOKEN', inFile: false},

  // What the platform binds.
  {key: 'host', type: 'string', default: '127.0.0.1', pattern: /^[^\s/]+$/, shape: 'an IP address or host name', description: 'Address the API, edge and tunnel listen on.', flag: 'host'},
  {key: 'apiPort', ...PORT, default: 7443, description: 'Control API port (0 = any free port).', flag: 'api-port'},
  {key: 'edgePort', ...PORT, default: 8443, description: 'End-user HTTPS port (0 = any free port).', flag: 'edge-port'},
  {key: 'tunnelPort', ...PORT, default: 7444, description: 'Warpgate tunnel port (0 = any free port).', flag: 'tunnel-port'},
  {key: 'domain', type: 'string', default: 'mezu.localhost', normalize: (v) => v.toLowerCase(), pattern: DNS_NAME, shape: 'a DNS name like mezu.localhost', description: 'Domain routes live under; login is served on auth.<domain>.', flag: 'domain'},

  // What the platform hands out when it differs from what it binds: a wildcard bind, NAT, a port
  // mapping in front (PlatformConfig.advertise). A wildcard host needs advertise.tunnelUrls.
  {key: 'advertise.apiUrl', type: 'url', schemes: ['https'], addressExample: 'https://mezu.example.com:7443', defaultText: 'the bound address (127.0.0.1 for a wildcard host)', description: 'Control API address handed out: `start --json`, the lock file `platform status` reads, `GET /v1/me`.', flag: 'advertise-api-url'},
  {key: 'advertise.tunnelUrls', type: 'list', schemes: ['tls'], addressExample: 'tls://203.0.113.10:7444', defaultText: 'the bound address', description: 'Tunnel addresses Warpgates are given, one per address of this edge (without :PORT, the bound tunnel port); required with a wildcard host.', flag: 'advertise-tunnel-url'},
  {key: 'advertise.edgePort', type: 'integer', min: 1, max: 65535, defaultText: 'the bound edge port', description: 'Port in route URLs and login links, e.g. 443 when a port mapping sits in front of edgePort.', flag: 'advertise-edge-port'},

  // Certificates from the operator's files instead of the private CA's (PlatformConfig.certificates),
  // re-read when they change. Each certificate file goes with its key file.
  {key: 'tls.certFile', path: 'certificates.edge.certFile', type: 'path', defaultText: 'one from the private platform CA', description: 'PEM certificate (chain allowed) the edge serves to end users; needs tls.keyFile.', flag: 'tls-cert'},
  {key: 'tls.keyFile', path: 'certificates.edge.keyFile', type: 'path', description: 'PEM private key (not encrypted) of tls.certFile.', flag: 'tls-key'},
  {key: 'apiTls.certFile', path: 'certificates.api.certFile', type: 'path', defaultText: 'one from the private platform CA', description: 'PEM certificate (chain allowed) the control API serves; needs apiTls.keyFile.', flag: 'api-tls-cert'},
  {key: 'apiTls.keyFile', path: 'certificates.api.keyFile', type: 'path', description: 'PEM private key (not encrypted) of apiTls.certFile.', flag: 'api-tls-key'},
  {key: 'certificates.checkIntervalMs', type: 'integer', min: 100, max: DAY, default: 30 * SECOND, description: 'How often the certificate files are also checked by stat, for file systems where the file watch misses changes.'},

  // Public certificates from an ACME CA (RFC 8555) for every route hostname and auth.<domain>
  // (PlatformConfig.acme, platform/acme-config.ts): on when acme.email is set.
  {key: 'acme.email', type: 'string', pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/, shape: 'an email address', description: 'Turns ACME on: a certificate for every route hostname and auth.<domain> from an ACME CA; the CA account\'s contact.', flag: 'acme-email'},
  {key: 'acme.directoryUrl', type: 'url', schemes: ['https'], default: 'https://acme-v02.api.letsencrypt.org/directory', description: 'The ACME CA\'s directory (Let\'s Encrypt production by default); needs acme.email.', flag: 'acme-directory'},
  {key: 'acme.httpPort', ...PORT, description: 'Port of a plain-HTTP listener for HTTP-01 challenges that redirects everything else to HTTPS; unset: TLS-ALPN-01 on the edge port only. Needs acme.email.', flag: 'acme-http-port'},
  {key: 'acme.caFile', type: 'path', description: 'Extra CA certificate (PEM) trusted for the ACME directory\'s own HTTPS, e.g. a test CA\'s; verification stays on. Needs acme.email.', flag: 'acme-ca-file'},

  {key: 'logLevel', type: 'enum', values: ['silent', 'error', 'warn', 'info', 'debug'], default: 'info', description: 'Least severe log line written (JSON lines on stderr).', flag: 'log-level'},
  // Observability: off unless set. The metrics listener is plain HTTP, loopback unless told otherwise.
  {key: 'metricsAddr', type: 'string', pattern: LISTEN_ADDRESS, shape: 'HOST:PORT like 127.0.0.1:9464 ([::1]:9464; :9464 means 127.0.0.1; port 0 = any free port)', description: 'Serve Prometheus /metrics, /healthz and /readyz over HTTP at HOST:PORT; no metrics are kept unless set.', flag: 'metrics-addr'},
  {key: 'accessLog', type: 'string', pattern: /^\S(.*\S)?$/, shape: 'a file path, or - for stdout', description: 'One JSON line per edge request (the `mezu logs` fields and the request id; never bodies, cookies or tokens) to this file, or - for stdout.', flag: 'access-log'},

  // Sessions, invitations, web login. Durations are whole milliseconds (…Ms), kept below
  // setTimeout's limit of 2^31 ms where they are timers.
  {key: 'sessionMaxAgeMs', type: 'integer', min: 1, max: 365 * DAY, default: 7 * DAY, description: 'Absolute lifetime of a login session.'},
  {key: 'sessionIdleMs', type: 'integer', min: 1, max: 365 * DAY, default: DAY, description: 'A session unused this long ends.'},
  {key: 'inviteTtlMs', type: 'integer', min: 1, max: 365 * DAY, default: 7 * DAY, description: 'Lifetime of an invitation code.'},
  {key: 'deviceLogin.ttlMs', type: 'integer', min: 1, max: DAY, default: 10 * MIN, description: 'Lifetime of a `mezu login --web` code.'},
  {key: 'deviceLogin.intervalSeconds', type: 'integer', min: 1, max: 60, default: 5, description: 'How often the CLI may poll a web login.'},
  {key: 'deviceLogin.startsPerMinute', type: 'integer', min: 1, max: 1_000_000, default: 20, description: 'Web logins one address may start per minute.'},
  {key: 'passwordStrength', type: 'enum', values: ['interactive', 'moderate'], default: 'interactive', description: 'argon2id cost of password hashes (libsodium\'s limits).'},

  // Failed logins (see LoginLimits in config.ts).
  {key: 'loginLimit.slowAfter', type: 'integer', min: 0, max: 1_000_000, default: 3, description: 'Failures after which each try is delayed.'},
  {key: 'loginLimit.lockAfter', type: 'integer', min: 1, max: 1_000_000, default: 10, description: 'Failures of one address on one account before that address is refused for it.'},
  {key: 'loginLimit.ipLockAfter', type: 'integer', min: 1, max: 1_000_000, default: 30, description: 'Failures of one address over all accounts before it is refused for every account.'},
  {key: 'loginLimit.windowMs', type: 'integer', min: 1, max: DAY, default: 15 * MIN, description: 'Window the failures are counted over.'},
  {key: 'loginLimit.lockMs', type: 'integer', min: 1, max: DAY, default: 15 * MIN, description: 'How long a refused address stays refused.'},
  {key: 'loginLimit.delayMs', type: 'integer', min: 0, max: MIN, default: 250, description: 'Delay at `slowAfter` failures, added again for each further failure.'},
  {key: 'loginLimit.maxDelayMs', type: 'integer', min: 0, max: MIN, default: 5000, description: 'Longest delay of any try.'},

  // The API and the Warpgates.
  {key: 'apiBodyLimitBytes', type: 'integer', min: KIB, max: GIB, default: MIB, description: 'Largest JSON body the control API accepts.'},
  {key: 'warpgateCertTtlMs', type: 'integer', min: SECOND, max: 7 * DAY, default: DAY, description: 'Lifetime of a Warpgate client certificate (renewed at two thirds).'},
  {key: 'edgeCertTtlMs', type: 'integer', min: SECOND, max: 90 * DAY, default: 30 * DAY, description: 'Lifetime of an edge node\'s certificate (renewed over its control channel at two thirds; long, so an edge rides out a control-plane outage).'},

  // The edge.
  {key: 'edge.maxHeaderBytes', type: 'integer', min: KIB, max: MIB, default: 16 * KIB, description: 'Largest request head (431 beyond).'},
  {key: 'edge.maxUrlBytes', type: 'integer', min: 256, max: MIB, default: 8 * KIB, description: 'Longest request URL (414 `uri_too_long` beyond).'},
  {key: 'edge.headersTimeoutMs', type: 'integer', min: 100, max: 10 * MIN, default: 10 * SECOND, description: 'Time for a client to send its request head (and TLS handshake).'},
  {key: 'edge.idleTimeoutMs', type: 'integer', min: 100, max: DAY, default: 2 * MIN, description: 'An end-user connection with nothing in flight is closed after this.'},
  {key: 'edge.requestTimeoutMs', type: 'integer', min: 0, max: DAY, default: 100 * SECOND, description: 'Time for the service to send response headers (504 `timeout`); 0 = none.'},
  {key: 'edge.defaultBodyLimitBytes', type: 'integer', min: 1, max: 1024 * GIB, default: GIB, description: 'Largest request body of a route without `--body-limit` (413).'},
  {key: 'edge.rateLimitPerMinute', type: 'integer', min: 1, max: 1_000_000, default: 6000, description: 'Requests per minute from one address on a route without its own limit (429).'},
  {key: 'edge.assertionTtlMs', type: 'integer', min: SECOND, max: DAY, default: 5 * MIN, description: 'Lifetime of the signed identity assertion sent to the service.'},
  {key: 'edge.maxConcurrentStreams', type: 'integer', min: 1, max: 1000, default: 128, description: 'HTTP/2 streams one end-user connection may have open at once.'},
  {key: 'edge.bodyTimeoutMs', type: 'integer', min: 0, max: DAY, default: MIN, description: 'Longest pause between two reads of a request body (408); 0 = none.'},
  {key: 'edge.minBodyBytesPerSecond', type: 'integer', min: 0, max: GIB, default: 240, description: 'Slowest average request-body rate once the grace has passed (408); 0 = none.'},
  {key: 'edge.bodyRateGraceMs', type: 'integer', min: 0, max: DAY, default: 5 * SECOND, description: 'Time before `minBodyBytesPerSecond` applies.'},
  // nghttp2 has a reset limit of its own (1000, then 33 a second) whose GOAWAY leaves the socket
  // open; the edge's must be reached first.
  {key: 'edge.streamResets.burst', type: 'integer', min: 1, max: 999, default: 200, description: 'HTTP/2 streams a client may reset before they are answered, at once.'},
  {key: 'edge.streamResets.perSecond', type: 'number', min: 0, max: 33, default: 10, description: 'Refill rate of that budget; when empty the edge sends GOAWAY.'},
]

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]))

export function settingByKey(key: string): Setting | undefined {
  return BY_KEY.get(key)
}

/** Where a setting's value sits in PlatformConfig. */
export function pathOf(s: Setting): string {
  return s.path ?? s.key
}

/** Every dotted prefix that groups settings (`edge`, `edge.streamResets`, …). */
export const GROUPS: ReadonlySet<string> = new Set(SETTINGS.flatMap((s) => s.key.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))))

/**
 * The variable of a setting: MEZU_PLATFORM_ + the key with dots and camelCase humps turned into
 * underscores, upper-cased (edge.requestTimeoutMs → MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS).
 */
export function envName(s: Setting): string {
  return s.env ?? derivedEnvName(s.key)
}

export function derivedEnvName(key: string): string {
  return 'MEZU_PLATFORM_' + key.replaceAll('.', '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}

/** What a right value of `s` is, to finish "… must be". */
export function expected(s: Setting): string {
  const range = s.min !== undefined && s.max !== undefined ? ` from ${s.min} to ${s.max}` : ''
  switch (s.type) {
    case 'integer': return `a whole number${range}`
    case 'number': return `a number${range}`
    case 'boolean': return 'true or false'
    case 'enum': return `one of ${s.values!.join(', ')}`
    case 'url': return s.addressExample ? `a URL like ${s.addressExample}` : `a URL starting with ${schemesText(s)}`
    case 'path': return 'a file path'
    case 'list': return s.addressExample ? `a list of URLs like ${s.addressExample}` : s.schemes ? `a list of URLs starting with ${schemesText(s)}` : 'a list of strings'
    case 'string': return s.shape ?? 'a string'
  }
}

function schemesText(s: Setting): string {
  return (s.schemes ?? ['https']).map((x) => x + '://').join(' or ')
}

/** How a value that was given reads in a message: strings quoted, collections named. */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return JSON.stringify(value)
  return String(value)
}

/**
 * Checks a value of the right JavaScript shape (from YAML, or parsed from text by fromText) and
 * returns it normalised, or what is wrong as the end of a sentence ("must be …, got …").
 */
export function checkValue(s: Setting, value: unknown): {ok: true; value: SettingValue} | {ok: false; problem: string} {
  const bad = () => ({ok: false as const, problem: `must be ${expected(s)}, got ${shown(value)}`})
  switch (s.type) {
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad()
      if (s.type === 'integer' && !Number.isInteger(value)) return bad()
      if ((s.min !== undefined && value < s.min) || (s.max !== undefined && value > s.max)) return bad()
      return {ok: true, value}
    }
    case 'boolean':
      return typeof value === 'boolean' ? {ok: true, value} : bad()
    case 'list': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) return bad()
      if (!s.addressExample) return !s.schemes || value.every((v) => isUrl(v, s.schemes!)) ? {ok: true, value: value as string[]} : bad()
      const out = new Set<string>()
      for (const v of value as string[]) {
        const a = checkAddress(s, v)
        if (!a.ok) return a
        out.add(a.value)
      }
      return {ok: true, value: [...out]}
    }
    default: {
      if (typeof value !== 'string' || value === '') return bad()
      if (s.type === 'url' && s.addressExample) return checkAddress(s, value)
      const v = s.normalize ? s.normalize(value) : value
      if (s.type === 'enum' && !s.values!.includes(v)) return bad()
      if (s.type === 'url' && !isUrl(v, s.schemes ?? ['https'])) return bad()
      if (s.type === 'string' && s.pattern && !s.pattern.test(v)) return bad()
      return {ok: true, value: v}
    }
  }
}

/** An address to hand out (see Setting.addressExample), normalised to scheme://host[:port]. */
function checkAddress(s: Setting, raw: string): {ok: true; value: string} | {ok: false; problem: string} {
  const scheme = `${(s.schemes ?? ['https'])[0]}:`
  const like = `must be a URL like ${s.addressExample}, got "${raw}"`
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return {ok: false, problem: like}
  }
  const bad = u.protocol !== scheme ? `its scheme must be ${scheme.slice(0, -1)}` : u.username || u.password ? 'it may not hold a user or password'
    : (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash ? 'give the address only, without a path or query'
      : !u.hostname ? 'it has no host' : isWildcardHost(urlHostname(raw)) ? 'a wildcard address cannot be connected to' : ''
  return bad ? {ok: false, problem: `${like}: ${bad}`} : {ok: true, value: `${scheme}//${u.host.toLowerCase()}`}
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

function isUrl(v: string, schemes: readonly string[]): boolean {
  try {
    const u = new URL(v)
    return schemes.includes(u.protocol.slice(0, -1)) && u.hostname !== ''
  } catch {
    return false
  }
}

/** A value given as text (a variable, a flag) in the shape checkValue expects. */
export function fromText(s: Setting, text: string | string[]): unknown {
  if (s.type === 'list') return (Array.isArray(text) ? text : text.split(',')).map((v) => v.trim()).filter((v) => v !== '')
  const t = Array.isArray(text) ? text.at(-1) ?? '' : text.trim()
  if (s.type === 'integer' || s.type === 'number') return /^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : t
  if (s.type === 'boolean') return ({true: true, false: false, 1: true, 0: false, yes: true, no: false} as Record<string, boolean>)[t.toLowerCase()] ?? t
  return t
}

/** The closest known name to a mistyped one, when it is close enough to be a likely typo. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase()
  const tail = wanted.split('.').at(-1)!
  let best: string | undefined
  let bestScore = Infinity
  for (const k of known) {
    const lower = k.toLowerCase()
    // the right leaf under the wrong (or no) group: `maxUrlBytes` for `edge.maxUrlBytes`
    const score = lower.split('.').at(-1) === tail && lower !== wanted ? 0.5 : distance(wanted, lower)
    if (score < bestScore) [best, bestScore] = [k, score]
  }
  return bestScore <= Math.max(2, Math.floor(wanted.length / 4)) ? best : undefined
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let row = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]
}
