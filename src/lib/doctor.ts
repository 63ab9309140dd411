import {X509Certificate} from 'node:crypto'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import {controlServerIdentity, NOT_CONTROL_PLANE} from '../protocol/control-identity.js'
import {TUNNEL_ALPN} from '../protocol/settings.js'
import type {ApiErrorBody, Page, Route, Warpgate, WhoAmI} from './api-types/index.js'
import {fetchPresentedCa} from './ca-pin.js'

/**
 * `mezu doctor`: small checks, each with a verdict and, when it is not a pass, one sentence on
 * how to fix it. `warn` is something that works now but needs attention (a token about to
 * expire, a small clock skew, no project chosen); `skip` is a check an earlier failure made
 * impossible. Only `fail` makes the doctor fail (exit 1).
 */
export type Verdict = 'pass' | 'warn' | 'fail' | 'skip'

export interface Check {
  id: string
  title: string
  verdict: Verdict
  detail: string
  fix: string | null
}

export interface DoctorReport {
  ok: boolean
  checks: Check[]
}

/** What the CLI knows before asking the platform anything; a missing piece is a failed check, not an error. */
export interface DoctorInput {
  apiUrl?: string
  /** where the address came from: `context NAME`, `--api-url`, `MEZU_API_URL` */
  apiUrlSource?: string
  /** why there is no address (the CLI's own error message) */
  configProblem?: string
  caPem?: string
  caSource?: string
  token?: string
  tokenSource?: string
  project?: string
  timeoutMs?: number
  now?: () => number
}

/** Above these the clock is off enough to matter: tokens, certificates and assertions are judged by time. */
const SKEW_WARN_MS = 30_000
const SKEW_FAIL_MS = 5 * 60_000
/** A token expiring sooner than this is a warning. */
const EXPIRY_WARN_MS = 24 * 3600_000

interface Endpoint {
  host: string
  port: number
  /** SNI name: none for an IP address */
  servername?: string
}

interface State {
  input: Required<Pick<DoctorInput, 'timeoutMs' | 'now'>> & DoctorInput
  api?: Endpoint
  reachable?: boolean
  caVerified?: boolean
  me?: WhoAmI
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const s: State = {input: {timeoutMs: 5000, now: Date.now, ...input}}
  const checks: Check[] = []
  for (const step of [checkConfig, checkApiReachable, checkCaPinned, checkTokenAndClock, checkEdge, checkTunnel, checkRoutes]) {
    checks.push(...(await step(s)))
  }
  return {ok: checks.every((c) => c.verdict !== 'fail'), checks}
}

const result = (id: string, title: string, verdict: Verdict, detail: string, fix: string | null = null): Check => ({id, title, verdict, detail, fix})

async function checkConfig(s: State): Promise<Check[]> {
  const t = 'config found'
  if (!s.input.apiUrl) return [result('config', t, 'fail', s.input.configProblem ?? 'no platform address', 'run `mezu login --api-url https://HOST:PORT --ca-file ca.pem`, or set MEZU_API_URL, MEZU_CA_FILE and MEZU_TOKEN')]
  const u = new URL(s.input.apiUrl)
  const host = u.hostname.replace(/^\[|\]$/g, '')
  s.api = {host, port: Number(u.port || 443), servername: net.isIP(host) ? undefined : host}
  return [result('config', t, 'pass', `${s.input.apiUrl} (from ${s.input.apiUrlSource ?? 'the configuration'})`)]
}

async function checkApiReachable(s: State): Promise<Check[]> {
  const t = 'API reachable'
  if (!s.api) return [result('api', t, 'skip', 'no platform address', 'fix "config found" first')]
  const started = s.input.now()
  try {
    await tcpConnect(s.api, s.input.timeoutMs)
    s.reachable = true
    return [result('api', t, 'pass', `${s.api.host}:${s.api.port} accepted a connection in ${s.input.now() - started} ms`)]
  } catch (error) {
    return [result('api', t, 'fail', `${s.api.host}:${s.api.port}: ${describeNetError(error)}`, 'start the platform (`mezu platform start`) or check the address (`mezu context list`, --api-url, MEZU_API_URL)')]
  }
}

async function checkCaPinned(s: State): Promise<Check[]> {
  const t = 'CA pinned and matching'
  if (!s.input.caPem) return [result('ca', t, 'fail', 'no CA is pinned for this platform', 'log in with `mezu login --ca-file ca.pem` (the file `mezu platform trust` prints), or set MEZU_CA_FILE')]
  const pinned = fingerprint(s.input.caPem)
  if (!s.reachable || !s.api) return [result('ca', t, 'skip', `pinned CA ${pinned} (${s.input.caSource ?? 'pinned'}); the API is not reachable to compare`, 'fix "API reachable" first')]
  try {
    await tlsConnect({...s.api, ca: s.input.caPem}, s.input.timeoutMs)
    s.caVerified = true
    return [result('ca', t, 'pass', `the API's certificate chain verifies against the pinned CA ${pinned} (${s.input.caSource ?? 'pinned'})`)]
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === NOT_CONTROL_PLANE) {
      return [result('ca', t, 'fail', (error as Error).message, 'check the address (--api-url, MEZU_API_URL, `mezu context list`) and what it resolves to: it reaches an edge node or a Warpgate, not the control plane')]
    }
    const presented = await fetchPresentedCa(`https://${s.api.servername ?? s.api.host}:${s.api.port}`).then((p) => p.fingerprint, () => 'unknown')
    return [result('ca', t, 'fail', `the API's certificate does not verify against the pinned CA ${pinned} (${describeNetError(error)}); it presents a CA with fingerprint ${presented}`,
      'if the platform was set up again, compare that fingerprint with `mezu platform trust` on its machine, then `mezu login --ca-file NEW.pem`; otherwise check --ca-file / MEZU_CA_FILE')]
  }
}

async function checkTokenAndClock(s: State): Promise<Check[]> {
  const tt = 'token valid'
  const tc = 'clock in step with the platform'
  if (!s.caVerified || !s.api) {
    return [result('token', tt, 'skip', 'the API cannot be reached safely', 'fix the checks above first'), result('clock', tc, 'skip', 'the API cannot be reached safely', 'fix the checks above first')]
  }
  let res: {status: number; body: string; date: string | undefined; at: number}
  try {
    res = await httpsGet(s.api, '/v1/me', s.input.caPem!, s.input.token, s.input.timeoutMs, s.input.now)
  } catch (error) {
    const detail = `GET /v1/me failed: ${describeNetError(error)}`
    return [result('token', tt, 'fail', detail, 'check that the address is a Mezusphere control plane'), result('clock', tc, 'skip', detail, 'fix "token valid" first')]
  }
  return [tokenVerdict(s, res), clockVerdict(res)]
}

function tokenVerdict(s: State, res: {status: number; body: string}): Check {
  const t = 'token valid'
  const relogin = s.input.tokenSource === 'MEZU_TOKEN' ? 'set MEZU_TOKEN to a valid key (`mezu service-accounts rotate-key`)' : 'log in again: `mezu login`'
  if (!s.input.token) return result('token', t, 'fail', 'no token: not logged in to this platform', 'run `mezu login`, or set MEZU_TOKEN to a service-account key')
  const body = parse(res.body)
  if (res.status !== 200) {
    const err = (body as ApiErrorBody | undefined)?.error
    return result('token', t, 'fail', `the platform refused the token (${s.input.tokenSource}): ${err?.code ?? res.status}${err?.message ? `, ${err.message}` : ''}`, relogin)
  }
  const me = body as WhoAmI
  s.me = me
  const who = `${me.principal.kind === 'user' ? 'user' : 'service account'} ${me.principal.name}`
  const expiresAt = me.principal.expiresAt
  if (!expiresAt) return result('token', t, 'pass', `${who}; the token does not expire`)
  const left = Date.parse(expiresAt) - s.input.now()
  const when = `expires ${expiresAt} (in ${human(left)})`
  if (left < EXPIRY_WARN_MS) return result('token', t, 'warn', `${who}; ${when}`, relogin)
  return result('token', t, 'pass', `${who}; ${when}`)
}

function clockVerdict(res: {date: string | undefined; at: number}): Check {
  const t = 'clock in step with the platform'
  const server = res.date ? Date.parse(res.date) : Number.NaN
  if (Number.isNaN(server)) return result('clock', t, 'warn', 'the platform sent no Date header to compare with', null)
  // The header has whole seconds: a skew under a second cannot be seen.
  const skew = res.at - server
  const detail = `this machine is ${human(Math.abs(skew))} ${skew >= 0 ? 'ahead of' : 'behind'} the platform`
  const fix = 'synchronise the clock (NTP: `timedatectl set-ntp true`) here or on the platform'
  if (Math.abs(skew) >= SKEW_FAIL_MS) return result('clock', t, 'fail', detail, fix)
  if (Math.abs(skew) >= SKEW_WARN_MS) return result('clock', t, 'warn', detail, fix)
  return result('clock', t, 'pass', Math.abs(skew) < 1000 ? 'within a second of the platform' : detail)
}

async function checkEdge(s: State): Promise<Check[]> {
  const t = 'edge reachable from here'
  if (!s.me?.edgeUrl) return [result('edge', t, 'skip', 'the edge address comes with a valid token', 'fix "token valid" first')]
  const u = new URL(s.me.edgeUrl)
  const ep = dialable(u.hostname, Number(u.port || 443))
  try {
    // End users' browsers trust the public roots too: the edge may serve an operator's or ACME certificate.
    await tlsConnect({...ep, ca: [...tls.rootCertificates, s.input.caPem!], anyName: true}, s.input.timeoutMs)
    return [result('edge', t, 'pass', `${u.host} answered TLS with a certificate the pinned CA or a public root signed`)]
  } catch (error) {
    return [result('edge', t, 'fail', `${u.host}: ${describeNetError(error)}`, 'check that the edge port is open from here (firewall, --host on `mezu platform start`) and that the platform is running')]
  }
}

async function checkTunnel(s: State): Promise<Check[]> {
  const t = 'tunnel port reachable from here'
  const urls = s.me?.tunnelUrls?.length ? s.me.tunnelUrls : s.me?.tunnelUrl ? [s.me.tunnelUrl] : []
  if (urls.length === 0) return [result('tunnel', t, 'skip', 'the tunnel address comes with a valid token', 'fix "token valid" first')]
  // Every advertised address: a Warpgate spreads its connections over all of them.
  return Promise.all(urls.map((url, i) => checkTunnelAddress(s, url, i === 0 ? 'tunnel' : `tunnel:${new URL(url).host}`, urls.length > 1 ? `${t} (${new URL(url).host})` : t)))
}

async function checkTunnelAddress(s: State, url: string, id: string, t: string): Promise<Check> {
  const u = new URL(url)
  const ep = dialable(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port))
  try {
    await tlsConnect({...ep, ca: s.input.caPem!, alpn: TUNNEL_ALPN, anyName: true}, s.input.timeoutMs)
    return result(id, t, 'pass', `${u.host} answered TLS (${TUNNEL_ALPN}) with a certificate the pinned CA signed`)
  } catch (error) {
    // The listener wants a Warpgate's certificate; being asked for one means the handshake got that far.
    if (/CERTIFICATE_REQUIRED/i.test(String((error as {code?: string}).code ?? ''))) return result(id, t, 'pass', `${u.host} answered TLS and asked for a Warpgate certificate`)
    return result(id, t, 'fail', `${u.host}: ${describeNetError(error)}`, 'Warpgates dial this port: open it from where they run (firewall, --host on `mezu platform start`)')
  }
}

async function checkRoutes(s: State): Promise<Check[]> {
  const t = 'routes of the current project'
  if (!s.me || !s.api) return [result('routes', t, 'skip', 'listing routes needs a valid token', 'fix "token valid" first')]
  const project = s.input.project
  if (!project) return [result('routes', t, 'warn', 'no project chosen, so no routes were checked', 'run `mezu use PROJECT`, set MEZU_PROJECT, or pass --project')]
  const get = async <T>(path: string): Promise<T[]> => {
    const res = await httpsGet(s.api!, path, s.input.caPem!, s.input.token, s.input.timeoutMs, s.input.now)
    const body = parse(res.body)
    if (res.status !== 200) throw new Error((body as ApiErrorBody | undefined)?.error?.message ?? `the platform answered ${res.status}`)
    return (body as Page<T>).items
  }
  let routes: Route[]
  let warpgates: Warpgate[]
  try {
    const q = `project=${encodeURIComponent(project)}`
    ;[routes, warpgates] = await Promise.all([get<Route>(`/v1/routes?${q}&limit=500`), get<Warpgate>(`/v1/warpgates?${q}`)])
  } catch (error) {
    return [result('routes', t, 'fail', `project ${project}: ${(error as Error).message}`, 'check the project name (`mezu projects`) and that your role reaches it')]
  }
  if (routes.length === 0) return [result('routes', t, 'pass', `project ${project} has no routes`)]
  return routes.map((r) => {
    const serving = warpgates.filter((w) => w.environmentId === r.environmentId && w.service === r.service && w.status === 'connected')
    const title = `route ${r.url}`
    if (serving.length === 0) {
      return result(`route:${r.id}`, title, 'fail', `no Warpgate is connected for service "${r.service}"`, `start one for this service: \`mezu tunnel\` or \`mezu-warpgate\` with a token from \`mezu warpgates create --service ${r.service}\``)
    }
    const unhealthy = serving.filter((w) => w.healthy === false)
    if (unhealthy.length === serving.length) return result(`route:${r.id}`, title, 'warn', `${serving.length} Warpgate(s) connected, but each reports its local service down`, 'check the service behind the Warpgate (is it running, on the port mezu.json names?)')
    return result(`route:${r.id}`, title, 'pass', `${serving.length} Warpgate(s) connected (${serving.map((w) => w.name).join(', ')})`)
  })
}

/** *.localhost names are loopback (RFC 6761), though Node's resolver does not know it. */
function dialable(hostname: string, port: number): Endpoint {
  const loopback = hostname === 'localhost' || hostname.endsWith('.localhost')
  return {host: loopback ? '127.0.0.1' : hostname, port, servername: net.isIP(hostname) ? undefined : hostname}
}

function tcpConnect(ep: Endpoint, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({host: ep.host, port: ep.port})
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})))
    socket.once('connect', () => {
      socket.end()
      resolve()
    })
    socket.once('error', reject)
  })
}

/**
 * A TLS handshake that verifies the chain against the pinned CA and, by default, that the server
 * is the control plane (controlServerIdentity). `anyName` skips both name checks: the edge's
 * certificate names route hostnames and the tunnel's its own identity, neither of which is the
 * address dialled here; the chain is still verified.
 */
function tlsConnect(opts: Endpoint & {ca: string | string[]; alpn?: string; anyName?: boolean}, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: opts.host, port: opts.port, servername: opts.servername, ca: opts.ca, minVersion: 'TLSv1.3',
      ALPNProtocols: opts.alpn ? [opts.alpn] : undefined,
      checkServerIdentity: opts.anyName ? () => undefined : controlServerIdentity(opts.ca),
    })
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error(`no TLS answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})))
    socket.once('secureConnect', () => {
      socket.destroy()
      resolve()
    })
    socket.once('error', reject)
  })
}

function httpsGet(ep: Endpoint, path: string, ca: string, token: string | undefined, timeoutMs: number, now: () => number): Promise<{status: number; body: string; date: string | undefined; at: number}> {
  return new Promise((resolve, reject) => {
    const sent = now()
    const req = https.request({
      host: ep.host, port: ep.port, servername: ep.servername, path, method: 'GET', ca, checkServerIdentity: controlServerIdentity(ca), minVersion: 'TLSv1.3', agent: false,
      headers: {'user-agent': 'mezu-doctor', accept: 'application/json', ...(token ? {authorization: `Bearer ${token}`} : {})},
    }, (res) => {
      // The Date header is stamped while the request is answered: compare it with the midpoint.
      const at = Math.round((sent + now()) / 2)
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body, date: res.headers.date, at}))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), {code: 'ETIMEDOUT'})))
    req.on('error', reject)
    req.end()
  })
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256
  } catch {
    return '(not a certificate)'
  }
}

function describeNetError(error: unknown): string {
  const e = error as NodeJS.ErrnoException
  if (e.code === 'ECONNREFUSED') return 'connection refused (nothing listens there)'
  if (e.code === 'ETIMEDOUT') return e.message
  if (e.code === 'ENOTFOUND') return 'the host name does not resolve'
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? error)
}

function human(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.round(s / 60)}m`
  if (s < 86400) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}
