import {AuthorityUnavailable} from './edge-authority.js'
import type {IncomingHttpHeaders} from 'node:http'
import type {Route} from '../../src/lib/api-types/index.js'
import {EDGE_PATH_PREFIX, HEADER_SERVICE_TOKEN, SESSION_COOKIE} from '../../src/protocol/headers.js'
import type {AssertionClaims} from './assertion.js'
import {guardRequest} from './http-guard.js'
import type {Caller} from './identity.js'
import type {IdentityEdgeState} from './identity-edge.js'
import {type CallerIdentity, rewriteIdentityHeaders} from './identity-headers.js'
import {clearSessionCookieHeader, readCookie, sessionCookieHeader} from './login/cookies.js'
import {readForm} from './login/form.js'
import {endSession, isLogoutConfirmed, LOGOUT_REFUSED, logoutPage} from './login/logout.js'
import {edgeOrigin} from './login/return-url.js'
import {normalisePath} from './path.js'
import {evaluate, type Who} from './policy.js'
import {edgePageHeaders, type Refusal, wantsJson} from './refusal.js'

/** The parts of a request the gate reads (Node's http and http2-compat requests both fit). */
export interface GateRequest {
  method?: string
  url?: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  httpVersion: string
  /** the request body; read only for the edge's own forms (POST /.mezu/logout), never for a forwarded request */
  body?: AsyncIterable<Buffer>
  /** the edge's id for this request (Mezu-Request-Id), shown on refusal pages */
  requestId?: string
}

export type GateResult =
  | {
      action: 'forward'
      /** headers to set on the forwarded request (identity headers, a Cookie without the session cookie) */
      setHeaders: Record<string, string>
      /** lower-case inbound header names to drop (every Mezu-*, Mezu_*, the service token, an emptied Cookie) */
      removeHeaders: string[]
      /** the normalised request target to forward */
      target: string
      /** policy reasons, for the request log */
      reasons: string[]
    }
  | {action: 'respond'; status: number; headers: Record<string, string | string[]>; body: string}

/** gate(req, route, clientIp): the identity-aware step of the edge pipeline, after routing. */
export type Gate = (req: GateRequest, route: Route, clientIp: string) => Promise<GateResult>

/**
 * Pre-routing check for the edge server: HTTP shape (http-guard) and path normalisation. The
 * server routes on the returned path; a refusal is returned ready to write.
 */
export function checkRequest(state: Pick<IdentityEdgeState, 'limits' | 'renderer'>, req: GateRequest): {ok: true; path: string; target: string} | {ok: false; response: GateResult & {action: 'respond'}} {
  const verdict = guardRequest(req, state.limits)
  if (!verdict.ok) return {ok: false, response: respond(state, req, {status: verdict.status, code: codeFor(verdict.status), message: verdict.reason})}
  const p = normalisePath(req.url ?? '')
  if (!p.ok) return {ok: false, response: respond(state, req, {status: 400, code: 'bad_request', message: p.reason})}
  return {ok: true, path: p.path, target: p.target}
}

export function createGate(state: IdentityEdgeState): Gate {
  return async (req, route, clientIp) => {
    const checked = checkRequest(state, req)
    if (!checked.ok) return checked.response
    if (checked.path.startsWith(EDGE_PATH_PREFIX)) {
      try {
        return await edgePath(state, req, route, checked.path)
      } catch (error) {
        if (!(error instanceof AuthorityUnavailable)) throw error
        return respond(state, req, {status: 503, code: 'control_unreachable', message: 'signing in and out is unavailable for a moment; try again shortly', headers: {'retry-after': '5'}})
      }
    }

    const limit = route.rateLimitPerMinute ?? state.limits.rateLimitPerMinute
    const rate = state.rate.take(route.id, clientIp, limit)
    if (!rate.allowed) {
      state.observer?.rateLimited('route')
      return respond(state, req, {status: 429, code: 'rate_limited', message: `more than ${limit} requests a minute from your address; slow down`, headers: {'retry-after': String(rate.retryAfterSeconds)}})
    }

    const caller = state.identity.identify(req.headers)
    if (caller.kind === 'invalid' && caller.credential === 'service-token') {
      return respond(state, req, {
        status: 401, code: 'invalid_service_token', message: `the ${HEADER_SERVICE_TOKEN} is ${caller.reason === 'unknown' ? 'not known' : caller.reason}`,
        headers: {'www-authenticate': `MezuServiceToken realm="${route.hostname}", error="invalid_token"`},
      }, true)
    }
    const snap = state.source.get()
    const policy = route.policyId === null ? null : snap.policies.get(route.policyId)
    if (policy === undefined) {
      // the route names a policy this snapshot does not have: fail closed
      state.observer?.denied(route.id, 'policy-missing')
      return respond(state, req, {status: 403, code: 'forbidden', message: 'this route is not reachable right now', reasons: ['policy-missing']})
    }
    const decision = evaluate(policy, whoOf(caller), clientIp)
    if (!decision.allow) {
      state.observer?.denied(route.id, decision.reasons[0] ?? 'denied')
      if (decision.reasons.includes('user-unauthenticated')) return loginRequired(state, req, route, checked.target, caller.kind === 'invalid')
      // a service token means a machine client: it always gets JSON
      return respond(state, req, {status: 403, code: 'forbidden', message: caller.kind === 'service' ? 'this service account is not allowed on this route' : 'you are signed in, but this route does not let you in', reasons: decision.reasons}, caller.kind === 'service')
    }

    // Every forwarded request carries an assertion, so `--require-assertion` can tell "came through
    // the edge" even on a public route; an anonymous caller gets one naming nobody.
    const claims: AssertionClaims = caller.kind === 'user'
      ? {kind: 'user', sub: caller.user.id, email: caller.user.email, groups: caller.user.directoryPaths}
      : caller.kind === 'service'
        ? {kind: 'service', sub: caller.accountId, name: caller.accountName, groups: []}
        : {kind: 'anonymous', sub: 'anonymous', groups: []}
    const assertion = await state.signer.sign(snap.identity.activeKey, snap.domain, route.hostname, claims)
    const identity: CallerIdentity = caller.kind === 'user'
      ? {id: caller.user.id, email: caller.user.email, assertion}
      : caller.kind === 'service' ? {id: caller.accountId, email: caller.accountName, assertion} : {assertion}
    const rw = rewriteIdentityHeaders(req.rawHeaders, identity)
    return {action: 'forward', setHeaders: rw.set, removeHeaders: rw.remove, target: checked.target, reasons: decision.reasons}
  }
}

function whoOf(caller: Caller): Who {
  if (caller.kind === 'user') return {kind: 'user', id: caller.user.id, email: caller.user.email, directoryIds: caller.user.directoryIds}
  if (caller.kind === 'service') return {kind: 'service', id: caller.accountId, name: caller.accountName}
  return {kind: 'anonymous'}
}

/** A browser goes to the login page; an API client gets 401 with WWW-Authenticate. */
function loginRequired(state: IdentityEdgeState, req: GateRequest, route: Route, target: string, staleCookie: boolean): GateResult {
  const port = state.publicPort()
  const loginUrl = `${edgeOrigin(`auth.${state.source.get().domain}`, port)}/login`
  const clear: Record<string, string> = staleCookie ? {'set-cookie': clearSessionCookieHeader()} : {}
  if (wantsJson(req.method, req.headers.accept)) {
    return respond(state, req, {
      status: 401, code: 'unauthenticated', message: `sign in at ${loginUrl}, or send a service account's key in Mezu-Service-Token`,
      reasons: ['user-unauthenticated'], headers: {...clear, 'www-authenticate': `Mezu realm="${route.hostname}", login="${loginUrl}"`},
    })
  }
  const back = `${edgeOrigin(route.hostname, port)}${target}`
  return {action: 'respond', status: 302, headers: {...edgePageHeaders(), ...clear, location: `${loginUrl}?return=${encodeURIComponent(back)}`}, body: ''}
}

/** /.mezu/* on a route host: the login callback and sign-out; answered by the edge, never forwarded. */
async function edgePath(state: IdentityEdgeState, req: GateRequest, route: Route, path: string): Promise<GateResult> {
  const port = state.publicPort()
  const authOrigin = edgeOrigin(`auth.${state.source.get().domain}`, port)
  if (path === `${EDGE_PATH_PREFIX}callback`) {
    const code = new URL(req.url ?? '/', 'https://x').searchParams.get('token') ?? ''
    const pending = req.method && ['GET', 'HEAD'].includes(req.method) ? await state.authority.consumeCallbackCode({code, host: route.hostname}) : undefined
    if (!pending) {
      return respond(state, req, {status: 400, code: 'invalid_callback', message: 'this sign-in link is not valid any more; sign in again'})
    }
    // the login may have happened at another edge a moment ago, ahead of this edge's snapshot
    state.identity.remember(pending.tokenHash, pending.session, pending.user)
    const caller = state.identity.bySessionToken(pending.token)
    if (caller.kind !== 'user') return respond(state, req, {status: 400, code: 'invalid_callback', message: 'this sign-in has ended; sign in again'})
    const maxAge = (caller.session.expiresAtMs - state.now()) / 1000
    return {action: 'respond', status: 303, headers: {...edgePageHeaders(), 'set-cookie': sessionCookieHeader(pending.token, maxAge), location: pending.returnUrl}, body: ''}
  }
  if (path === LOGOUT_PATH) return routeLogout(state, req, authOrigin)
  return respond(state, req, {status: 404, code: 'not_found', message: 'no such edge page'})
}

const LOGOUT_PATH = `${EDGE_PATH_PREFIX}logout`

/**
 * /.mezu/logout: GET shows the sign-out form, only its POST (with the form's token) ends the
 * session; then the browser goes on to the auth host's /logout to drop the cookie there too.
 */
async function routeLogout(state: IdentityEdgeState, req: GateRequest, authOrigin: string): Promise<GateResult> {
  const token = readCookie(req.headers.cookie, SESSION_COOKIE)
  const caller = token ? state.identity.bySessionToken(token) : undefined
  const email = caller?.kind === 'user' ? caller.user.email : undefined
  const signedOut: GateResult = {action: 'respond', status: 303, headers: {...edgePageHeaders(), 'set-cookie': clearSessionCookieHeader(), location: `${authOrigin}/logout`}, body: ''}
  const page = (status: number, error?: string): GateResult => ({
    action: 'respond', status, body: logoutPage(state, {sessionToken: token!, email: email!, action: LOGOUT_PATH, error}),
    // the form's POST is answered with a redirect to the auth host, and form-action covers redirects
    headers: {...edgePageHeaders(`'self' ${authOrigin}`), 'content-type': 'text/html; charset=utf-8'},
  })
  const method = req.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD') return email === undefined ? signedOut : page(200)
  if (method !== 'POST') return respond(state, req, {status: 405, code: 'method_not_allowed', message: 'sign out with the form at GET /.mezu/logout', headers: {allow: 'GET, POST'}})
  const form = req.body ? await readForm(req.headers, req.body) : undefined
  if (form && 'refused' in form) return respond(state, req, {status: form.refused.status, code: form.refused.status === 413 ? 'payload_too_large' : 'unsupported_media_type', message: form.refused.message})
  if (!isLogoutConfirmed(state, token, form?.values.get('csrf') ?? null)) {
    if (email !== undefined) return page(403, LOGOUT_REFUSED)
    // a stale form in a browser (signed out in another tab) gets a page, not the JSON other POSTs get
    const format = String(req.headers.accept ?? '').includes('application/json') ? 'json' : 'html'
    return {action: 'respond', ...state.renderer.render({status: 403, code: 'logout_refused', message: 'this sign-out form is not valid here; nothing was changed'}, format)}
  }
  await endSession(state, token!)
  return signedOut
}

function codeFor(status: number): string {
  return status === 414 ? 'uri_too_long' : status === 431 ? 'headers_too_large' : 'bad_request'
}

function respond(state: Pick<IdentityEdgeState, 'renderer'>, req: GateRequest, r: Refusal, forceJson = false): GateResult & {action: 'respond'} {
  const out = state.renderer.render(req.requestId ? {...r, requestId: req.requestId} : r, forceJson || wantsJson(req.method, req.headers.accept) ? 'json' : 'html')
  return {action: 'respond', ...out}
}
