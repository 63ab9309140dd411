import {AuthorityUnavailable} from '../edge-authority.js'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Http2ServerRequest, Http2ServerResponse} from 'node:http2'
import {CSRF_COOKIE, SESSION_COOKIE} from '../../../src/protocol/headers.js'
import {jwks} from '../assertion.js'
import type {IdentityEdgeState} from '../identity-edge.js'
import {guardRequest} from '../http-guard.js'
import {normalisePath} from '../path.js'
import {edgePageHeaders} from '../refusal.js'
import {clearSessionCookieHeader, csrfCookieHeader, readCookie, sessionCookieHeader} from './cookies.js'
import {readForm} from './form.js'
import {endSession, isLogoutConfirmed, LOGOUT_REFUSED, logoutPage} from './logout.js'
import {acceptDevicePageUrl, acceptReturnUrl, DEVICE_PAGE_PATH, edgeOrigin} from './return-url.js'

/** (req, res) for every request to auth.<domain>. */
export type LoginHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void

type Req = IncomingMessage | Http2ServerRequest
type Res = ServerResponse | Http2ServerResponse

const WRONG = 'email or password is wrong'

interface Reply {
  status: number
  headers?: Record<string, string | string[]>
  body?: string
  contentType?: string
}

/**
 * auth.<domain>: the login form, the set-password form for invitations, the web-login approval
 * page (`mezu login --web`), sign-out (a form; only its POST signs out) and the JWKS.
 * A successful login makes a new session (never reuses one: no fixation) and sends the browser
 * to the route's /.mezu/callback with a one-time code.
 */
export function createLoginHandler(state: IdentityEdgeState): LoginHandler {
  return (req, res) => {
    handle(state, req).then(
      (r) => write(state, res, r),
      (error: unknown) => write(state, res, error instanceof AuthorityUnavailable
        ? {status: 503, body: 'sign-in is unavailable for a moment (this edge cannot reach the control plane); try again shortly', contentType: 'text/plain; charset=utf-8', headers: {'retry-after': '5'}}
        : {status: 500, body: 'the sign-in service failed; try again', contentType: 'text/plain; charset=utf-8'}),
    )
  }
}

async function handle(state: IdentityEdgeState, req: Req): Promise<Reply> {
  const guard = guardRequest(req, state.limits)
  if (!guard.ok) return {status: guard.status, body: guard.reason, contentType: 'text/plain; charset=utf-8'}
  const p = normalisePath(req.url ?? '/')
  if (!p.ok) return {status: 400, body: p.reason, contentType: 'text/plain; charset=utf-8'}
  // the login host shares the per-IP request limit every route has (failed passwords have their own limiter)
  const rate = state.rate.take('auth', clientIp(req), state.limits.rateLimitPerMinute)
  if (!rate.allowed) state.observer?.rateLimited('auth')
  if (!rate.allowed) return {status: 429, body: 'too many requests; slow down', contentType: 'text/plain; charset=utf-8', headers: {'retry-after': String(rate.retryAfterSeconds)}}
  const query = new URLSearchParams(p.query ?? '')
  const method = req.method ?? 'GET'
  const isGet = method === 'GET' || method === 'HEAD'

  switch (p.path) {
    case '/.well-known/jwks.json':
      if (!isGet) return methodNotAllowed()
      return {status: 200, body: JSON.stringify(jwks(state.source.get().identity.publishedKeys)), contentType: 'application/json', headers: {'cache-control': 'public, max-age=60'}}
    case '/':
      return home(state, req)
    case '/login':
      if (isGet) return loginForm(state, req.headers.cookie, {returnUrl: query.get('return') ?? '', notice: query.get('notice') === 'password-set' ? 'Your password is set. Sign in with it.' : undefined, email: query.get('email') ?? undefined})
      if (method === 'POST') return loginSubmit(state, req)
      return methodNotAllowed()
    case '/invite':
      if (isGet) return inviteForm(state, req, query.get('code') ?? '', query.get('return') ?? '')
      if (method === 'POST') return inviteSubmit(state, req)
      return methodNotAllowed()
    case DEVICE_PAGE_PATH:
      if (isGet) return devicePage(state, req, query.get('code') ?? '')
      if (method === 'POST') return deviceSubmit(state, req)
      return methodNotAllowed()
    case '/logout':
      if (isGet) return logoutForm(state, req)
      if (method === 'POST') return logoutSubmit(state, req)
      return methodNotAllowed()
    default:
      return message(state, 404, 'Not found', 'There is no such page here.')
  }
}

function home(state: IdentityEdgeState, req: Req): Reply {
  const token = readCookie(req.headers.cookie, SESSION_COOKIE)
  const caller = token ? state.identity.bySessionToken(token) : undefined
  if (caller?.kind === 'user') return message(state, 200, 'Signed in', `You are signed in as ${caller.user.email}.`, {link: '/logout', linkText: 'Sign out'})
  return {status: 303, headers: {location: '/login'}}
}

async function loginForm(state: IdentityEdgeState, cookies: string | string[] | undefined, v: {returnUrl: string; error?: string; notice?: string; email?: string}, status = 200, extra: Record<string, string | string[]> = {}): Promise<Reply> {
  // Already signed in here: go straight back through the route's callback, with the same session.
  const token = readCookie(cookies, SESSION_COOKIE)
  const ret = returnTarget(state, v.returnUrl)
  if (status === 200 && token && ret && state.identity.bySessionToken(token).kind === 'user') return ret.local ? {status: 303, headers: {location: ret.url}} : await toCallback(state, token, ret)

  const csrf = csrfFor(state, cookies)
  const body = state.templates.render('login', {
    domain: state.source.get().domain, csrf: csrf.token, returnUrl: ret?.url ?? '', error: v.error, notice: v.notice, email: v.email,
  })
  return {status, body, contentType: 'text/html; charset=utf-8', headers: {...extra, ...csrf.headers}}
}

async function loginSubmit(state: IdentityEdgeState, req: Req): Promise<Reply> {
  const form = await postedForm(req)
  if ('error' in form) return form.error
  const returnUrl = form.values.get('return') ?? ''
  if (!state.csrf.verify(readCookie(req.headers.cookie, CSRF_COOKIE), form.values.get('csrf') ?? undefined)) {
    return loginForm(state, undefined, {returnUrl, error: 'The form expired. Please sign in again.'}, 403)
  }
  const email = (form.values.get('email') ?? '').trim()
  const password = form.values.get('password') ?? ''
  if (!email || !password || email.length > 320 || password.length > 1024) return loginForm(state, req.headers.cookie, {returnUrl, email, error: WRONG}, 401)
  const outcome = await state.authority.login({email, password, ip: clientIp(req), userAgent: header(req, 'user-agent')})
  if (!outcome.ok) {
    if (outcome.reason === 'limited') {
      return loginForm(state, req.headers.cookie, {returnUrl, email, error: `Too many failed sign-ins. Try again in ${outcome.retryAfterSeconds} seconds.`}, 429, {'retry-after': String(outcome.retryAfterSeconds)})
    }
    return loginForm(state, req.headers.cookie, {returnUrl, email, error: WRONG}, 401)
  }
  state.identity.remember(outcome.tokenHash, outcome.session, outcome.user)
  const maxAge = (outcome.session.expiresAtMs - state.now()) / 1000
  const ret = returnTarget(state, returnUrl)
  const cookie = sessionCookieHeader(outcome.token, maxAge)
  if (!ret) return {status: 303, headers: {location: '/', 'set-cookie': cookie}}
  if (ret.local) return {status: 303, headers: {location: ret.url, 'set-cookie': cookie}}
  const r = await toCallback(state, outcome.token, ret)
  return {...r, headers: {...r.headers, 'set-cookie': cookie}}
}

async function toCallback(state: IdentityEdgeState, token: string, ret: {url: string; host: string}): Promise<Reply> {
  const code = await state.authority.issueCallbackCode({token, host: ret.host, returnUrl: ret.url})
  return {status: 303, headers: {location: `${edgeOrigin(ret.host, state.publicPort())}/.mezu/callback?token=${code}`}}
}

async function inviteForm(state: IdentityEdgeState, req: Req, code: string, returnUrl: string, error?: string, status = 200): Promise<Reply> {
  const inv = code ? await state.authority.invitation(code) : {ok: false as const}
  if (!inv.ok) return message(state, 400, 'Invitation not valid', 'This invitation is not valid any more. Ask an administrator for a new one.')
  const csrf = csrfFor(state, req.headers.cookie)
  const ret = returnTarget(state, returnUrl)
  const body = state.templates.render('set-password', {domain: state.source.get().domain, email: inv.email, code, csrf: csrf.token, returnUrl: ret?.url ?? '', error})
  return {status, body, contentType: 'text/html; charset=utf-8', headers: csrf.headers}
}

async function inviteSubmit(state: IdentityEdgeState, req: Req): Promise<Reply> {
  const form = await postedForm(req)
  if ('error' in form) return form.error
  const code = form.values.get('code') ?? ''
  const returnUrl = form.values.get('return') ?? ''
  if (!state.csrf.verify(readCookie(req.headers.cookie, CSRF_COOKIE), form.values.get('csrf') ?? undefined)) {
    return message(state, 403, 'Form expired', 'The form expired. Open the invitation link again.')
  }
  const password = form.values.get('password') ?? ''
  if (password !== (form.values.get('confirm') ?? '')) return inviteForm(state, req, code, returnUrl, 'The two passwords are not the same.', 400)
  const r = await state.authority.acceptInvitation({code, password, ip: clientIp(req), userAgent: header(req, 'user-agent')})
  if (!r.ok) {
    if (r.reason === 'weak-password') return inviteForm(state, req, code, returnUrl, r.message, 400)
    return message(state, 400, 'Invitation not valid', 'This invitation is not valid any more. Ask an administrator for a new one.')
  }
  const q = new URLSearchParams({notice: 'password-set', email: r.email})
  const ret = returnTarget(state, returnUrl)
  if (ret) q.set('return', ret.url)
  return {status: 303, headers: {location: `/login?${q}`}}
}

/** Where a sign-in may go next: a known route (through its callback) or the approval page here. */
function returnTarget(state: IdentityEdgeState, raw: string): {url: string; host: string; local: boolean} | null {
  const own = acceptDevicePageUrl(raw, `auth.${state.source.get().domain}`, state.publicPort())
  if (own) return {...own, local: true}
  const route = acceptReturnUrl(raw, state.source.get().routes, state.publicPort())
  return route && {...route, local: false}
}

/** The signed-in user of this browser on auth.<domain>, if any. */
function signedInUser(state: IdentityEdgeState, req: Req): {id: string; email: string} | undefined {
  const token = readCookie(req.headers.cookie, SESSION_COOKIE)
  const caller = token ? state.identity.bySessionToken(token) : undefined
  return caller?.kind === 'user' ? {id: caller.user.id, email: caller.user.email} : undefined
}

/** Not signed in here: sign in first, then come back to the approval page with the same code. */
function toLoginForDevice(state: IdentityEdgeState, code: string): Reply {
  const back = `${edgeOrigin(`auth.${state.source.get().domain}`, state.publicPort())}${DEVICE_PAGE_PATH}${code && code.length <= 32 ? `?code=${encodeURIComponent(code)}` : ''}`
  return {status: 303, headers: {location: `/login?${new URLSearchParams({return: back})}`}}
}

/** A CSRF token for this browser, and the Set-Cookie that binds it when the browser has none yet (or `cookies` is undefined). */
function csrfFor(state: IdentityEdgeState, cookies: string | string[] | undefined): {token: string; headers: Record<string, string>} {
  let cookie = readCookie(cookies, CSRF_COOKIE)
  const headers: Record<string, string> = {}
  if (!cookie) {
    cookie = state.csrf.newCookieValue()
    headers['set-cookie'] = csrfCookieHeader(cookie)
  }
  return {token: state.csrf.tokenFor(cookie), headers}
}

/**
 * GET /device: without a code, a field to type the one the terminal shows; with one, what is
 * asking to log in and the approve / deny buttons. Only a signed-in browser gets this far.
 */
async function devicePage(state: IdentityEdgeState, req: Req, code: string, error?: string, status = 200): Promise<Reply> {
  const user = signedInUser(state, req)
  if (!user) return toLoginForDevice(state, code)
  const csrf = csrfFor(state, req.headers.cookie)
  const page = (values: Record<string, string | undefined>, st = status): Reply => ({
    status: st, contentType: 'text/html; charset=utf-8', headers: csrf.headers,
    body: state.templates.render('device', {domain: state.source.get().domain, email: user.email, csrf: csrf.token, error, ...values}),
  })
  if (!code || error) return page({enter: '1', code: code.length <= 32 ? code : ''})
  const found = await state.authority.deviceLogin({userCode: code, userId: user.id, ip: clientIp(req)})
  if (!found.ok) {
    if (found.reason === 'limited') return page({enter: '1', error: `Too many wrong codes. Try again in ${found.retryAfterSeconds} seconds.`}, 429)
    return page({enter: '1', code: code.length <= 32 ? code : '', error: 'That code is not valid: it may have expired or been used. Check it against your terminal, or run mezu login --web again.'}, 400)
  }
  return page({confirm: '1', code: found.userCode, client: found.client, clientIp: found.ip, expires: new Date(found.expiresAtMs).toISOString()})
}

/** POST /device: approve or deny, CSRF-checked, for the signed-in user. */
async function deviceSubmit(state: IdentityEdgeState, req: Req): Promise<Reply> {
  const form = await postedForm(req)
  if ('error' in form) return form.error
  const code = form.values.get('code') ?? ''
  if (!state.csrf.verify(readCookie(req.headers.cookie, CSRF_COOKIE), form.values.get('csrf') ?? undefined)) {
    return message(state, 403, 'Form expired', 'The form expired. Open the link your terminal shows again.')
  }
  const user = signedInUser(state, req)
  if (!user) return toLoginForDevice(state, code)
  const action = form.values.get('action')
  if (action !== 'approve' && action !== 'deny') return devicePage(state, req, code, 'Choose approve or deny.', 400)
  const r = await state.authority.decideDeviceLogin({userCode: code, userId: user.id, approve: action === 'approve', ip: clientIp(req), userAgent: header(req, 'user-agent')})
  if (!r.ok) {
    if (r.reason === 'limited') return devicePage(state, req, '', `Too many wrong codes. Try again in ${r.retryAfterSeconds} seconds.`, 429)
    return devicePage(state, req, code, 'That code is not valid: it may have expired or been used. Check it against your terminal, or run mezu login --web again.', 400)
  }
  if (action === 'deny') return message(state, 200, 'Login denied', `The login with code ${r.userCode} was denied. Nothing was signed in.`)
  return message(state, 200, 'Login approved', `Your terminal is now signed in as ${user.email}. You can close this window.`)
}

/** GET /logout: the sign-out form; a browser without a live session is signed out already (a stale cookie is dropped). */
function logoutForm(state: IdentityEdgeState, req: Req, error?: string, status = 200): Reply {
  const user = signedInUser(state, req)
  if (!user) return signedOut(state)
  const sessionToken = readCookie(req.headers.cookie, SESSION_COOKIE)!
  return {status, body: logoutPage(state, {sessionToken, email: user.email, action: '/logout', error}), contentType: 'text/html; charset=utf-8'}
}

/** POST /logout: ends the session only with the token the form was made with. */
async function logoutSubmit(state: IdentityEdgeState, req: Req): Promise<Reply> {
  const form = await postedForm(req)
  if ('error' in form) return form.error
  const token = readCookie(req.headers.cookie, SESSION_COOKIE)
  if (!isLogoutConfirmed(state, token, form.values.get('csrf'))) {
    if (signedInUser(state, req)) return logoutForm(state, req, LOGOUT_REFUSED, 403)
    return message(state, 403, 'Sign-out refused', 'This sign-out form is not valid. Nothing was changed.', {link: '/login', linkText: 'Sign in'})
  }
  await endSession(state, token!)
  return signedOut(state)
}

function signedOut(state: IdentityEdgeState): Reply {
  return message(state, 200, 'Signed out', 'You are signed out.', {link: '/login', linkText: 'Sign in again'}, {'set-cookie': clearSessionCookieHeader()})
}

function message(state: IdentityEdgeState, status: number, title: string, text: string, link: {link?: string; linkText?: string} = {}, headers: Record<string, string> = {}): Reply {
  return {status, body: state.templates.render('message', {title, message: text, ...link}), contentType: 'text/html; charset=utf-8', headers}
}

function methodNotAllowed(): Reply {
  return {status: 405, body: 'method not allowed', contentType: 'text/plain; charset=utf-8', headers: {allow: 'GET, POST'}}
}

async function postedForm(req: Req): Promise<{values: URLSearchParams} | {error: Reply}> {
  const form = await readForm(req.headers, req as AsyncIterable<Buffer>)
  return 'refused' in form ? {error: {status: form.refused.status, body: form.refused.message, contentType: 'text/plain; charset=utf-8'}} : form
}

function header(req: Req, name: string): string | null {
  const v = req.headers[name]
  return (Array.isArray(v) ? v[0] : v) ?? null
}

function clientIp(req: Req): string {
  return req.socket?.remoteAddress ?? ''
}

function write(state: IdentityEdgeState, res: Res, r: Reply): void {
  const domain = state.source.get().domain
  const headers: Record<string, string | string[]> = {
    // the login form posts here, then the browser follows a redirect to a route host's callback
    ...edgePageHeaders(`'self' https://*.${domain}:*`),
    ...r.headers,
  }
  if (r.body !== undefined) headers['content-type'] = r.contentType ?? 'text/plain; charset=utf-8'
  const body = r.body ?? ''
  headers['content-length'] = String(Buffer.byteLength(body))
  ;(res as ServerResponse).writeHead(r.status, headers)
  ;(res as ServerResponse).end(body)
}

