import {EventEmitter} from 'node:events'
import {createServer, type IncomingMessage, type Server} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {AddressInfo} from 'node:net'
import {connect} from 'node:tls'
import type {ExecutionContext} from 'ava'
import type {Policy, PolicyRules, Route} from '../../src/lib/api-types/index.js'
import type {PlatformConfig} from '../../platform/config.js'
import {routeUrl} from '../../platform/control/edge-config.js'
import type {ChangeEvent} from '../../platform/control/feed.js'
import {createEnvironment} from '../../platform/store/config/environments.js'
import {bumpConfigVersion} from '../../platform/store/config/meta.js'
import {createPolicy} from '../../platform/store/config/policies.js'
import {createProject} from '../../platform/store/config/projects.js'
import {createRoute} from '../../platform/store/config/routes.js'
import {transaction} from '../../platform/store/db.js'
import {readText} from './api.js'
import {startTestPlatform, type TestPlatform} from './platform.js'
import {startWarpgate} from './tunnel.js'

/** The service name every route of the fixture points at; the fixture's Warpgate serves it. */
export const ECHO_SERVICE = 'echo'

/** One request as the echo origin received it (behind the real edge and a real Warpgate). */
export interface OriginSeen {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  rawHeaders: string[]
  /** body bytes that reached the origin (counted as they arrive) */
  bodyBytes: number
  /** set when the request closed: 'aborted' when that happened before its body ended (the edge cancelled it) */
  closed?: 'complete' | 'aborted'
}

/**
 * The real identity-aware edge: a platform on port 0 with its edge listener, a project and
 * environment, an echo origin on 127.0.0.1:0, and an in-process Warpgate registered for the
 * `echo` service connected to the tunnel port. Requests go over real TLS to `port`.
 */
export interface IdentityEdge {
  platform: TestPlatform
  /** the edge listener's bound port (platform.ports.edge) */
  port: number
  domain: string
  caPem: string
  /** every request the origin received, in order of arrival */
  originSeen: OriginSeen[]
  projectId: string
  environmentId: string
  /** the edge's ConfigSource (the real StoreConfigSource, brought up to date by every feed event) */
  source: TestPlatform['edgeSource']
  /** Creates a route to the echo service and waits until the edge's snapshot has it. */
  addRoute(hostname: string, pathPrefix: string, policyId: string | null, extra?: {rateLimitPerMinute?: number; bodyLimitBytes?: number}): Promise<Route>
  /** Creates a policy in the fixture's project and waits until the edge's snapshot has it. */
  addPolicy(name: string, p: {public?: boolean; allow?: Partial<PolicyRules>; deny?: Partial<PolicyRules>}): Promise<Policy>
  /**
   * Publishes a feed event after a store write made outside the control API (bumping the version
   * in a transaction, as control's change() does) and waits for the edge to serve from it.
   */
  published(kind: string, id: string | null, action: ChangeEvent['action']): Promise<void>
  /** Resolves once the edge's snapshot reflects configuration version `version` or later. */
  untilSnapshot(version: number, deadlineMs?: number): Promise<void>
  /** The first request the origin saw (or sees, or whose state changes) that matches; rejects at the deadline. */
  untilOrigin(match: (s: OriginSeen) => boolean, what: string, deadlineMs?: number): Promise<OriginSeen>
}

export async function startIdentityEdge(t: ExecutionContext, overrides: Partial<PlatformConfig> = {}): Promise<IdentityEdge> {
  const platform = await startTestPlatform(t, overrides)
  const ctx = platform.ctx
  const port = platform.ports.edge
  if (!port) throw new Error('the platform started without an edge listener')
  const source = platform.edgeSource

  const originSeen: OriginSeen[] = []
  const originEvents = new EventEmitter<{change: [OriginSeen]}>()
  const origin = createServer((req, res) => {
    const seen: OriginSeen = {method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0}
    originSeen.push(seen)
    originEvents.emit('change', seen)
    req.on('close', () => {
      seen.closed = req.complete ? 'complete' : 'aborted'
      originEvents.emit('change', seen)
    })
    req.on('data', (c: Buffer) => (seen.bodyBytes += c.length))
    req.on('end', () => {
      const body = JSON.stringify({method: req.method, url: req.url, headers: req.headers, bodyBytes: seen.bodyBytes})
      res.writeHead(200, {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)})
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  t.teardown(() => closeServer(origin))
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`

  const untilSnapshot = async (version: number, deadlineMs = 5000) => {
    if (source.get().version >= version) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`the edge's snapshot did not reach version ${version} within ${deadlineMs} ms`))
      }, deadlineMs)
      const off = source.onChange((s) => {
        if (s.version < version) return
        clearTimeout(timer)
        off()
        resolve()
      })
    })
  }
  /** A write, its version bump in one transaction, then the feed event after commit. */
  const change = async <T>(kind: string, id: (v: T) => string, write: () => Promise<T>): Promise<T> => {
    let version = 0
    const value = await transaction(ctx.cdb, async () => {
      const v = await write()
      version = await bumpConfigVersion(ctx.cdb)
      return v
    })
    await ctx.feed.publish({version, kind, id: id(value), action: 'created'})
    await untilSnapshot(version)
    return value
  }

  const project = await change('project', (p) => p.id, () => createProject(ctx.cdb, {name: `p${Math.random().toString(36).slice(2, 8)}`}))
  const env = await change('environment', (e) => e.id, () => createEnvironment(ctx.cdb, project.id, 'prod'))
  const scope = {projectId: project.id, environmentId: env.id}
  await startWarpgate(t, platform, scope, ECHO_SERVICE, originUrl, {connections: 1})

  const none = (): PolicyRules => ({emails: [], directories: [], serviceAccounts: [], ips: []})
  return {
    platform, port, domain: platform.domain, caPem: platform.caPem, originSeen, source, ...scope,
    async addRoute(hostname, pathPrefix, policyId, extra = {}) {
      const r = await change('route', (v) => v.id, () => createRoute(ctx.cdb, {
        ...scope, policyId, hostname, pathPrefix, service: ECHO_SERVICE,
        bodyLimitBytes: extra.bodyLimitBytes ?? null, rateLimitPerMinute: extra.rateLimitPerMinute ?? null,
      }))
      return {...r, url: routeUrl(r, port)}
    },
    addPolicy(name, p) {
      return change('policy', (v) => v.id, () => createPolicy(ctx.cdb, project.id, {name, public: p.public ?? false, allow: {...none(), ...p.allow}, deny: {...none(), ...p.deny}} as never))
    },
    async published(kind, id, action) {
      const version = await transaction(ctx.cdb, () => bumpConfigVersion(ctx.cdb))
      await ctx.feed.publish({version, kind, id, action})
      await untilSnapshot(version)
    },
    untilSnapshot,
    untilOrigin(match, what, deadlineMs = 10_000) {
      const seen = originSeen.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          originEvents.off('change', onChange)
          reject(new Error(`timed out after ${deadlineMs} ms waiting for the origin to see ${what}`))
        }, deadlineMs)
        const onChange = (s: OriginSeen) => {
          if (!match(s)) return
          clearTimeout(timer)
          originEvents.off('change', onChange)
          resolve(s)
        }
        originEvents.on('change', onChange)
      })
    },
  }
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => {
    s.closeAllConnections()
    s.close(() => resolve())
  })
}

/** What the tests need of an edge: where it listens and the CA to pin. */
export interface EdgeAddress {
  port: number
  caPem: string
  domain: string
}

export interface EdgeResponse {
  status: number
  headers: IncomingMessage['headers']
  text: string
  json: any
}

/** An HTTPS/1.1 request to the edge for `host`, with the platform CA pinned and SNI set. */
export function edgeFetch(e: EdgeAddress, host: string, path: string, opts: {method?: string; headers?: Record<string, string | string[]>; body?: string; localAddress?: string} = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: e.port, servername: host, method: opts.method ?? 'GET', path, ca: e.caPem, agent: false, localAddress: opts.localAddress,
      headers: {host: `${host}:${e.port}`, ...opts.headers, ...(opts.body !== undefined ? {'content-length': String(Buffer.byteLength(opts.body))} : {})},
    }, (res) => {
      readText(res).then(({text, json}) => resolve({status: res.statusCode ?? 0, headers: res.headers, text, json}), reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/**
 * Writes raw bytes over TLS and returns the status line's code (or 0 when the connection closed
 * without one). The socket is not half-closed: the edge treats a client that hung up as gone and
 * cancels the forward, so the request asks for `Connection: close` (or is HTTP/1.0) instead.
 */
export function rawRequest(e: EdgeAddress, host: string, raw: string, deadlineMs = 10_000): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    const sock = connect({host: '127.0.0.1', port: e.port, servername: host, ca: e.caPem, ALPNProtocols: ['http/1.1']}, () => sock.write(raw))
    const timer = setTimeout(() => sock.destroy(), deadlineMs)
    sock.on('close', () => clearTimeout(timer))
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

/** Splits https://host:port/path into host and path. */
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
export async function openLoginPage(e: EdgeAddress, returnUrl: string, cookies = ''): Promise<{csrfCookie: string; csrf: string; returnField: string; res: EdgeResponse}> {
  const res = await edgeFetch(e, `auth.${e.domain}`, `/login?return=${encodeURIComponent(returnUrl)}`, {headers: cookies ? {cookie: cookies} : {}})
  const set = setCookie(res, '__Host-mezu_csrf')
  const fromCookies = /__Host-mezu_csrf=([^;]+)/.exec(cookies)?.[1]
  return {csrfCookie: set?.value ?? fromCookies ?? '', csrf: formField(res.text, 'csrf') ?? '', returnField: formField(res.text, 'return') ?? '', res}
}

/** POST the login form, from `localAddress` when given (any 127.0.0.0/8 address reaches the edge). */
export function postLogin(e: EdgeAddress, fields: Record<string, string>, cookies: string, localAddress?: string): Promise<EdgeResponse> {
  return edgeFetch(e, `auth.${e.domain}`, '/login', {
    method: 'POST', body: new URLSearchParams(fields).toString(), localAddress,
    headers: {'content-type': 'application/x-www-form-urlencoded', cookie: cookies},
  })
}

/**
 * The whole browser sign-in: protected URL → login page → POST → callback → back to the URL.
 * Returns the session cookie value the route host set and the final response from the origin.
 */
export async function signIn(e: EdgeAddress, url: string, email: string, password: string): Promise<{session: string; final: EdgeResponse; callback: EdgeResponse; loginPost: EdgeResponse}> {
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
