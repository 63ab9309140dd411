import test from 'ava'
import {createLocalJWKSet, jwtVerify} from 'jose'
import {loginHistory} from '../../platform/store/identity/login-history.js'
import {findUserByEmail} from '../../platform/store/identity/users.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, formField, openLoginPage, postLogin, setCookie, signIn, splitUrl, startIdentityEdge} from '../helpers/identity-edge.js'

test('a browser is sent to login, signs in, and reaches the origin with verified identity headers', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  const url = `https://hello.${e.domain}:${e.port}/greet?x=1`

  const first = await edgeFetch(e, `hello.${e.domain}`, '/greet?x=1')
  t.is(first.status, 302)
  t.is(first.headers['cache-control'], 'no-store')
  t.truthy(first.headers['strict-transport-security'])
  t.is(first.headers.location, `https://auth.${e.domain}:${e.port}/login?return=${encodeURIComponent(url)}`)

  const {session, final, callback} = await signIn(e, url, ADMIN_EMAIL, ADMIN_PASSWORD)
  const cookie = setCookie(callback, '__Host-mezu_session')!
  t.deepEqual(cookie.attrs.filter((a) => !a.startsWith('Max-Age')).sort(), ['HttpOnly', 'Path=/', 'SameSite=Lax', 'Secure'])
  t.false(cookie.attrs.some((a) => a.toLowerCase().startsWith('domain')), 'host-only cookie')
  t.is(callback.headers.location, url)
  t.is(final.status, 200)

  const seen = final.json.headers
  t.is(final.json.url, '/greet?x=1')
  t.is(seen['mezu-user-email'], ADMIN_EMAIL)
  t.truthy(seen['mezu-user-id'])
  t.is(seen.cookie, undefined, 'the edge session cookie never reaches the origin')
  t.false(JSON.stringify(final.json).includes(session))

  const jwksRes = await edgeFetch(e, `auth.${e.domain}`, '/.well-known/jwks.json')
  t.is(jwksRes.status, 200)
  const {payload} = await jwtVerify(seen['mezu-jwt-assertion'], createLocalJWKSet(jwksRes.json), {
    issuer: `https://auth.${e.domain}`, audience: `hello.${e.domain}`, algorithms: ['EdDSA'],
  })
  t.is(payload.email, ADMIN_EMAIL)
  t.is(payload.sub, seen['mezu-user-id'])
  await t.throwsAsync(jwtVerify(seen['mezu-jwt-assertion'], createLocalJWKSet(jwksRes.json), {audience: `other.${e.domain}`}))

  const history = await loginHistory(e.platform.ctx.idb, (await findUserByEmail(e.platform.ctx.idb, ADMIN_EMAIL))!.id)
  t.is(history[0]!.result, 'success')
  t.is(history[0]!.method, 'edge-password')
})

test('wrong password and unknown email both say "email or password is wrong"', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  const page = await openLoginPage(e, `https://hello.${e.domain}:${e.port}/`)
  const cookies = `__Host-mezu_csrf=${page.csrfCookie}`
  const wrong = await postLogin(e, {email: ADMIN_EMAIL, password: 'nope', csrf: page.csrf, return: page.returnField}, cookies)
  const unknown = await postLogin(e, {email: 'nobody@example.test', password: 'nope', csrf: page.csrf, return: page.returnField}, cookies)
  for (const r of [wrong, unknown]) {
    t.is(r.status, 401)
    t.true(r.text.includes('email or password is wrong'))
    t.is(setCookie(r, '__Host-mezu_session'), undefined)
  }
})

test('refuses a login POST without the CSRF cookie, with a token for another cookie, or with none', async (t) => {
  const e = await startIdentityEdge(t)
  const page = await openLoginPage(e, '')
  const other = await openLoginPage(e, '')
  const base = {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, return: ''}
  const noCookie = await postLogin(e, {...base, csrf: page.csrf}, '')
  const crossed = await postLogin(e, {...base, csrf: other.csrf}, `__Host-mezu_csrf=${page.csrfCookie}`)
  const noToken = await postLogin(e, base, `__Host-mezu_csrf=${page.csrfCookie}`)
  for (const r of [noCookie, crossed, noToken]) {
    t.is(r.status, 403)
    t.is(setCookie(r, '__Host-mezu_session'), undefined, 'no session without a valid CSRF token')
  }
  const ok = await postLogin(e, {...base, csrf: page.csrf}, `__Host-mezu_csrf=${page.csrfCookie}`)
  t.is(ok.status, 303)
})

test('the CSRF cookie is host-only, HttpOnly and SameSite=Strict', async (t) => {
  const e = await startIdentityEdge(t)
  const page = await openLoginPage(e, '')
  const c = setCookie(page.res, '__Host-mezu_csrf')!
  t.deepEqual(c.attrs.sort(), ['HttpOnly', 'Path=/', 'SameSite=Strict', 'Secure'])
})

test('issues a new session id at every login, replacing a cookie planted before login (no fixation)', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  const url = `https://hello.${e.domain}:${e.port}/`
  const a = await signIn(e, url, ADMIN_EMAIL, ADMIN_PASSWORD)
  const b = await signIn(e, url, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.not(a.session, b.session)
  t.not(setCookie(a.loginPost, '__Host-mezu_session')!.value, setCookie(b.loginPost, '__Host-mezu_session')!.value)

  // an attacker-planted session cookie on the login host is not adopted: the login makes its own
  const page = await openLoginPage(e, url, '__Host-mezu_session=planted-by-attacker')
  const post = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: page.returnField}, `__Host-mezu_csrf=${page.csrfCookie}; __Host-mezu_session=planted-by-attacker`)
  t.is(post.status, 303)
  const fresh = setCookie(post, '__Host-mezu_session')!.value
  t.not(fresh, 'planted-by-attacker')
  t.regex(fresh, /^mezu_sess_/)
  const planted = await edgeFetch(e, `hello.${e.domain}`, '/', {headers: {cookie: '__Host-mezu_session=planted-by-attacker'}})
  t.is(planted.status, 302, 'a planted token is not a session')
})

test('a callback code works once and only on the host it was issued for', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  await e.addRoute(`other.${e.domain}`, '/', null)
  const page = await openLoginPage(e, `https://hello.${e.domain}:${e.port}/`)
  const post = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: page.returnField}, `__Host-mezu_csrf=${page.csrfCookie}`)
  const cb = splitUrl(post.headers.location!)
  t.is(cb.host, `hello.${e.domain}`)
  t.regex(cb.path, /^\/\.mezu\/callback\?token=/)
  t.false(cb.path.includes(setCookie(post, '__Host-mezu_session')!.value), 'the URL carries a code, not the session token')
  const elsewhere = await edgeFetch(e, `other.${e.domain}`, cb.path)
  t.is(elsewhere.status, 400)
  t.is(setCookie(elsewhere, '__Host-mezu_session'), undefined)
  const again = await edgeFetch(e, cb.host, cb.path)
  t.is(again.status, 400, 'a code tried once on another host is spent')
  const bogus = await edgeFetch(e, cb.host, '/.mezu/callback?token=made-up')
  t.is(bogus.status, 400)
})

test('already signed in on auth.<domain>: a second route gets a callback without the form', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  await e.addRoute(`second.${e.domain}`, '/', null)
  const page = await openLoginPage(e, `https://hello.${e.domain}:${e.port}/`)
  const post = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: page.returnField}, `__Host-mezu_csrf=${page.csrfCookie}`)
  const authSession = setCookie(post, '__Host-mezu_session')!.value
  const again = await edgeFetch(e, `auth.${e.domain}`, `/login?return=${encodeURIComponent(`https://second.${e.domain}:${e.port}/x`)}`, {headers: {cookie: `__Host-mezu_session=${authSession}`}})
  t.is(again.status, 303)
  const cb = splitUrl(again.headers.location!)
  t.is(cb.host, `second.${e.domain}`)
  const done = await edgeFetch(e, cb.host, cb.path)
  t.is(done.status, 303)
  t.is(done.headers.location, `https://second.${e.domain}:${e.port}/x`)
})

test('edge pages carry HSTS, nosniff, CSP and Referrer-Policy', async (t) => {
  const e = await startIdentityEdge(t)
  const page = await openLoginPage(e, '')
  for (const h of ['strict-transport-security', 'x-content-type-options', 'content-security-policy', 'referrer-policy']) t.truthy(page.res.headers[h], h)
  t.is(formField(page.res.text, 'return'), '')
})
