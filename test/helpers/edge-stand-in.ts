import {createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer, request as httpsRequest} from 'node:https'
import {createSecureServer, type Http2ServerRequest, type Http2ServerResponse} from 'node:http2'
import type {AddressInfo} from 'node:net'
import {connect} from 'node:tls'
import type {ExecutionContext} from 'ava'
import type {Policy, PolicyRules, Route} from '../../src/lib/api-types/index.js'
import {buildEdgeIdentity, createEdgeAuthority} from '../../platform/control/edge-identity.js'
import type {ConfigSource, EdgeSnapshot} from '../../platform/edge/config-source.js'
import {checkRequest} from '../../platform/edge/gate.js'
import {createIdentityEdge, identityLimits, type IdentityEdgeState} from '../../platform/edge/identity-edge.js'
import {pathUnder} from '../../platform/edge/path.js'
import {issueServerCert} from '../../platform/pki/ca.js'
import {createEnvironment} from '../../platform/store/config/environments.js'
import {configVersion} from '../../platform/store/config/meta.js'
import {createPolicy, listPolicies} from '../../platform/store/config/policies.js'
import {createProject} from '../../platform/store/config/projects.js'
import {createRoute, listRoutes} from '../../platform/store/config/routes.js'
import type {PlatformConfig} from '../../platform/config.js'
import {startTestPlatform, type TestPlatform} from './platform.js'

/**
 * A stand-in for the edge listener until the real edge (platform/edge/server.ts) wires the gate in:
 * an HTTPS server on port 0 that sends auth.<domain> to the login handler and every other host
 * through checkRequest → route match → gate → a plain HTTP echo origin. The platform, the stores,
 * the change feed, the gate and the login handler are all real.
 */
export interface StandIn {
  platform: TestPlatform
  port: number
  domain: string
  caPem: string
  /** the stand-in's own server certificate (leaf first) */
  certPem: string
  state: IdentityEdgeState
  source: ConfigSource
  /** every request the origin received */
  originSeen: Array<{method: string; url: string; headers: Record<string, string | string[] | undefined>; rawHeaders: string[]}>
  projectId: string
  environmentId: string
  addRoute(hostname: string, pathPrefix: string, policyId: string | null, extra?: {rateLimitPerMinute?: number}): Route
  addPolicy(name: string, p: {public?: boolean; allow?: Partial<PolicyRules>; deny?: Partial<PolicyRules>}): Policy
  /** rebuilds the snapshot now (also done on every feed event) */
  refresh(): void
}

export async function startStandIn(t: ExecutionContext, overrides: Partial<PlatformConfig> = {}, opts: {rebuildOnFeed?: boolean; http2?: boolean} = {}): Promise<StandIn> {
  const platform = await startTestPlatform(t, overrides)
  const ctx = platform.ctx
  const domain = platform.domain
  let port = 0

  const build = (): EdgeSnapshot => ({
    version: configVersion(ctx.cdb.db),
    domain,
    routes: listRoutes(ctx.cdb).map((r) => ({...r, url: `https://${r.hostname}:${port}`})),
    policies: new Map(listPolicies(ctx.cdb).map((p) => [p.id, p])),
    identity: buildEdgeIdentity(ctx),
  })
  let snapshot = build()
  const listeners = new Set<(s: EdgeSnapshot) => void>()
  const source: ConfigSource = {
    get: () => snapshot,
    onChange(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
  const refresh = () => {
    snapshot = build()
    for (const fn of listeners) fn(snapshot)
  }
  // rebuildOnFeed: false shows that the feed event alone revokes, before any new snapshot
  const unsubscribe = ctx.feed.subscribe(() => {
    if (opts.rebuildOnFeed !== false) refresh()
  })
  t.teardown(unsubscribe)

  const edge = createIdentityEdge({
    source, authority: createEdgeAuthority(ctx), events: ctx.feed, limits: identityLimits(platform.config), publicPort: () => port,
  })
  t.teardown(() => edge.close())

  const originSeen: StandIn['originSeen'] = []
  const origin = createHttpServer((req, res) => {
    originSeen.push({method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders})
    const body = JSON.stringify({method: req.method, url: req.url, headers: req.headers})
    res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
    res.end(body)
  })
  await listen(origin)
  t.teardown(() => close(origin))
  const originPort = (origin.address() as AddressInfo).port

  const cert = await issueServerCert(ctx.ca, {dns: [domain, `*.${domain}`], ips: ['127.0.0.1']})
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const host = String(req.headers.host ?? req.headers[':authority'] ?? '').replace(/:\d+$/, '').toLowerCase()
    if (host === `auth.${domain}`) return edge.login(req, res)
    const checked = checkRequest(edge.state, req)
    if (!checked.ok) {
      ;(res as ServerResponse).writeHead(checked.response.status, checked.response.headers)
      return (res as ServerResponse).end(checked.response.body)
    }
    const route = [...snapshot.routes]
      .filter((r) => r.hostname === host && pathUnder(checked.path, r.pathPrefix))
      .sort((a, b) => b.pathPrefix.length - a.pathPrefix.length)[0]
    if (!route) {
      ;(res as ServerResponse).writeHead(404)
      return (res as ServerResponse).end('no route')
    }
    edge.gate(req, route, req.socket.remoteAddress ?? '').then((r) => {
      if (process.env.DEBUG_STANDIN) console.error('gate', req.url, r.action, r.action === 'respond' ? r.status : '')
      if (r.action === 'respond') {
        ;(res as ServerResponse).writeHead(r.status, r.headers)
        return (res as ServerResponse).end(r.body)
      }
      const headers: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !r.removeHeaders.includes(k) && k !== 'connection' && !k.startsWith(':')) headers[k] = v
      Object.assign(headers, r.setHeaders)
      headers.host = String(req.headers.host ?? req.headers[':authority'])
      const up = httpRequest({host: '127.0.0.1', port: originPort, method: req.method, path: r.target, headers}, (ores) => {
        const out = {...ores.headers}
        for (const hop of ['connection', 'keep-alive', 'transfer-encoding']) delete out[hop]
        ;(res as ServerResponse).writeHead(ores.statusCode ?? 502, out)
        ores.pipe(res as ServerResponse)
      })
      up.on('error', (err) => {
        if (process.env.DEBUG_STANDIN) console.error('upstream', err)
        res.destroy()
      })
      ;(req as IncomingMessage).pipe(up)
    }, (err) => {
      if (process.env.DEBUG_STANDIN) console.error('gate failed', err)
      ;(res as ServerResponse).writeHead(500)
      ;(res as ServerResponse).end()
    })
  }
  const tlsOptions = {key: cert.keyPem, cert: cert.chainPem, maxHeaderSize: 32 * 1024}
  const server = opts.http2
    ? createSecureServer({...tlsOptions, allowHTTP1: true}, handler)
    : createHttpsServer(tlsOptions, handler)
  await listen(server)
  t.teardown(() => close(server))
  port = (server.address() as AddressInfo).port
  refresh()

  const project = createProject(ctx.cdb, {name: `p${Math.random().toString(36).slice(2, 8)}`})
  const env = createEnvironment(ctx.cdb, project.id, 'prod')
  const none = (): PolicyRules => ({emails: [], directories: [], serviceAccounts: [], ips: []})
  return {
    platform, port, domain, caPem: platform.caPem, certPem: cert.certPem, state: edge.state, source, originSeen,
    projectId: project.id, environmentId: env.id,
    addRoute(hostname, pathPrefix, policyId, extra = {}) {
      const r = createRoute(ctx.cdb, {projectId: project.id, environmentId: env.id, policyId, hostname, pathPrefix, service: 'echo', bodyLimitBytes: null, rateLimitPerMinute: extra.rateLimitPerMinute ?? null})
      refresh()
      return {...r, url: `https://${hostname}:${port}`}
    },
    addPolicy(name, p) {
      const pol = createPolicy(ctx.cdb, project.id, {name, public: p.public ?? false, allow: {...none(), ...p.allow}, deny: {...none(), ...p.deny}} as never)
      refresh()
      return pol
    },
    refresh,
  }
}

function listen(s: Server | ReturnType<typeof createHttpsServer> | ReturnType<typeof createSecureServer>): Promise<void> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve()))
}

function close(s: Server | ReturnType<typeof createHttpsServer> | ReturnType<typeof createSecureServer>): Promise<void> {
  return new Promise((resolve) => {
    if ('closeAllConnections' in s) s.closeAllConnections()
    s.close(() => resolve())
  })
}

export interface EdgeResponse {
  status: number
  headers: IncomingMessage['headers']
  text: string
  json: any
}

/** An HTTPS request to the stand-in edge for `host`, with the platform CA pinned and SNI set. */
export function edgeFetch(e: StandIn, host: string, path: string, opts: {method?: string; headers?: Record<string, string | string[]>; body?: string} = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: e.port, servername: host, method: opts.method ?? 'GET', path, ca: e.caPem, agent: false,
      headers: {host: `${host}:${e.port}`, ...opts.headers, ...(opts.body !== undefined ? {'content-length': String(Buffer.byteLength(opts.body))} : {})},
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try {
          json = text ? JSON.parse(text) : undefined
        } catch {
          json = undefined
        }
        resolve({status: res.statusCode ?? 0, headers: res.headers, text, json})
      })
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** Writes raw bytes over TLS and returns the status line's code (or 0 when the connection closed without one). */
export function rawRequest(e: StandIn, host: string, raw: string): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    const sock = connect({host: '127.0.0.1', port: e.port, servername: host, ca: e.caPem}, () => sock.end(raw))
    const chunks: Buffer[] = []
    sock.on('data', (c: Buffer) => chunks.push(c))
    sock.on('error', reject)
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({status: m ? Number(m[1]) : 0, text})
    })
  })
}

/** The value of a Set-Cookie for `name`, and its attributes. */
export function setCookie(res: EdgeResponse, name: string): {value: string; attrs: string[]} | undefined {
  const all = res.headers['set-cookie'] ?? []
  for (const c of all) {
    const [pair, ...attrs] = c.split(';').map((s) => s.trim())
    const eq = pair!.indexOf('=')
    if (pair!.slice(0, eq) === name) return {value: pair!.slice(eq + 1), attrs}
  }
  return undefined
}

/** Follows a URL on the stand-in edge: splits https://host:port/path into host and path. */
export function splitUrl(url: string): {host: string; path: string} {
  const u = new URL(url)
  return {host: u.hostname, path: u.pathname + u.search}
}

/** The hidden input `name` of an HTML form. */
export function formField(html: string, name: string): string | undefined {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  return m ? m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>') : undefined
}

/** GET the login page for a return URL; returns the CSRF cookie and the form's token and return field. */
export async function openLoginPage(e: StandIn, returnUrl: string, cookies = ''): Promise<{csrfCookie: string; csrf: string; returnField: string; res: EdgeResponse}> {
  const res = await edgeFetch(e, `auth.${e.domain}`, `/login?return=${encodeURIComponent(returnUrl)}`, {headers: cookies ? {cookie: cookies} : {}})
  const set = setCookie(res, '__Host-mezu_csrf')
  const fromCookies = /__Host-mezu_csrf=([^;]+)/.exec(cookies)?.[1]
  return {csrfCookie: set?.value ?? fromCookies ?? '', csrf: formField(res.text, 'csrf') ?? '', returnField: formField(res.text, 'return') ?? '', res}
}

/** POST the login form. */
export function postLogin(e: StandIn, fields: Record<string, string>, cookies: string): Promise<EdgeResponse> {
  return edgeFetch(e, `auth.${e.domain}`, '/login', {
    method: 'POST', body: new URLSearchParams(fields).toString(),
    headers: {'content-type': 'application/x-www-form-urlencoded', cookie: cookies},
  })
}

/**
 * The whole browser sign-in: protected URL → login page → POST → callback → back to the URL.
 * Returns the session cookie value the route host set and the final response from the origin.
 */
export async function signIn(e: StandIn, url: string, email: string, password: string): Promise<{session: string; final: EdgeResponse; callback: EdgeResponse; loginPost: EdgeResponse}> {
  const {host, path} = splitUrl(url)
  const first = await edgeFetch(e, host, path)
  if (first.status !== 302) throw new Error(`expected a redirect to login, got ${first.status}`)
  const login = splitUrl(first.headers.location!)
  const page = await edgeFetch(e, login.host, login.path)
  const csrfCookie = setCookie(page, '__Host-mezu_csrf')!.value
  const loginPost = await postLogin(e, {email, password, csrf: formField(page.text, 'csrf')!, return: formField(page.text, 'return')!}, `__Host-mezu_csrf=${csrfCookie}`)
  if (loginPost.status !== 303) throw new Error(`login answered ${loginPost.status}: ${loginPost.text.slice(0, 200)}`)
  const cb = splitUrl(loginPost.headers.location!)
  const callback = await edgeFetch(e, cb.host, cb.path)
  const session = setCookie(callback, '__Host-mezu_session')?.value
  if (!session) throw new Error(`callback answered ${callback.status} without a session cookie`)
  const back = splitUrl(callback.headers.location!)
  const final = await edgeFetch(e, back.host, back.path, {headers: {cookie: `__Host-mezu_session=${session}`}})
  return {session, final, callback, loginPost}
}

/** Polls `check` until it returns true or the deadline passes; returns how long it took. */
export async function waitFor(check: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > deadlineMs) throw new Error(`condition not met within ${deadlineMs} ms`)
    await new Promise((r) => setImmediate(r))
  }
}

/** For a file-wide fixture started in test.before: collects teardowns to run in test.after.always. */
export function fileScope(): {t: ExecutionContext; close(): Promise<void>} {
  const fns: Array<() => unknown> = []
  const t = {teardown: (fn: () => unknown) => fns.push(fn)} as unknown as ExecutionContext
  return {t, async close() {
    for (const fn of fns.reverse()) await fn()
  }}
}
