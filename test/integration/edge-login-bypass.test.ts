import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, fileScope, openLoginPage, postLogin, rawRequest, signIn, startIdentityEdge, type IdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge

// One platform for the file: every test only reads through it.
let e: IdentityEdge
let app: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t, {edge: {...defaults, maxUrlBytes: 512, maxHeaderBytes: 4096}})
  app = `app.${e.domain}`
  const open = await e.addPolicy('open', {public: true})
  await e.addRoute(app, '/', open.id)
  await e.addRoute(app, '/admin', null)
  const limited = await e.addPolicy('limited-open', {public: true})
  await e.addRoute(`limited.${e.domain}`, '/', limited.id, {rateLimitPerMinute: 2})
  const onlyBob = await e.addPolicy('only-bob', {allow: {emails: ['bob@example.test']}})
  await e.addRoute(`bob.${e.domain}`, '/', onlyBob.id)
})

const raw = (lines: string[]) => lines.join('\r\n') + '\r\n\r\n'

test('the public part of the host is reachable anonymously, the /admin route is not', async (t) => {
  t.is((await edgeFetch(e, app, '/hello')).status, 200)
  t.is((await edgeFetch(e, app, '/admin')).status, 302)
  t.is((await edgeFetch(e, app, '/admin/users')).status, 302)
})

for (const spelling of ['/%61dmin', '//admin', '/x/../admin', '/admin/.', '/./admin/', '/%2e%2e/admin', '/admin//users', '/x/%2E%2E/admin']) {
  test(`a policy on /admin is not passed with ${spelling}`, async (t) => {
    const r = await rawRequest(e, app, raw([`GET ${spelling} HTTP/1.1`, `Host: ${app}:${e.port}`, 'Connection: close']))
    t.is(r.status, 302, r.text.split('\r\n')[0])
    t.regex(r.text, /location: https:\/\/auth\./i)
  })
}

test('routes are case-sensitive: /ADMIN is a different path and reaches the public route as /ADMIN', async (t) => {
  const r = await edgeFetch(e, app, '/ADMIN')
  t.is(r.status, 200)
  t.is(r.json.url, '/ADMIN')
})

for (const [name, target] of [
  ['an encoded slash', '/admin%2fusers'], ['an encoded slash before admin', '/x%2F..%2Fadmin'], ['an encoded backslash', '/x%5cadmin'],
  ['an encoded NUL', '/admin%00'], ['invalid percent-encoding', '/ad%zzmin'], ['a raw backslash', '/x\\..\\admin'], ['a raw "#"', '/public#/../admin'],
] as const) {
  test(`refuses ${name} in the path with 400`, async (t) => {
    const r = await rawRequest(e, app, raw([`GET ${target} HTTP/1.1`, `Host: ${app}:${e.port}`, 'Connection: close']))
    t.is(r.status, 400)
  })
}

test('refuses two Host headers with 400', async (t) => {
  const r = await rawRequest(e, app, raw(['GET /admin HTTP/1.1', `Host: ${app}:${e.port}`, `Host: ${app}:${e.port}`, 'Connection: close']))
  t.is(r.status, 400)
})

test('refuses an absolute-form request target with 400', async (t) => {
  const r = await rawRequest(e, app, raw([`GET http://${app}/admin HTTP/1.1`, `Host: ${app}:${e.port}`, 'Connection: close']))
  t.is(r.status, 400)
})

test('refuses Transfer-Encoding on HTTP/1.0 with 400', async (t) => {
  const r = await rawRequest(e, app, raw(['POST /x HTTP/1.0', `Host: ${app}:${e.port}`, 'Transfer-Encoding: chunked']) + '0\r\n\r\n')
  t.is(r.status, 400)
})

test('refuses Content-Length together with Transfer-Encoding with 400', async (t) => {
  const r = await rawRequest(e, app, raw(['POST /x HTTP/1.1', `Host: ${app}:${e.port}`, 'Content-Length: 5', 'Transfer-Encoding: chunked', 'Connection: close']) + '0\r\n\r\n')
  t.is(r.status, 400)
})

test('refuses obs-fold header continuation with 400', async (t) => {
  const r = await rawRequest(e, app, raw(['GET /x HTTP/1.1', `Host: ${app}:${e.port}`, 'X-A: a', ' folded', 'Connection: close']))
  t.is(r.status, 400)
})

test('refuses Mezu_User_Email (underscore) and dotted header names with 400 so they never reach an origin', async (t) => {
  for (const h of ['Mezu_User_Email: evil@example.test', 'X.Forwarded.For: 1.2.3.4']) {
    const r = await rawRequest(e, app, raw(['GET /x-underscore HTTP/1.1', `Host: ${app}:${e.port}`, h, 'Connection: close']))
    t.is(r.status, 400, h)
  }
  t.false(e.originSeen.some((s) => s.url === '/x-underscore' || s.rawHeaders.some((n, i) => i % 2 === 0 && /[_.]/.test(n))))
})

test('strips spoofed Mezu-* headers in any case from an anonymous request to a public route', async (t) => {
  const r = await edgeFetch(e, app, '/spoof', {headers: {'Mezu-User-Email': 'evil@example.test', 'MEZU-USER-ID': 'usr_evil', 'mezu-jwt-assertion': 'forged', 'MeZu-Anything': 'x'}})
  t.is(r.status, 200)
  const h = r.json.headers
  t.is(h['mezu-user-email'], undefined)
  t.is(h['mezu-user-id'], undefined)
  t.is(h['mezu-anything'], undefined)
  t.not(h['mezu-jwt-assertion'], 'forged', 'the assertion is the edge\'s own (anonymous), not the client\'s')
  t.is(typeof h['mezu-jwt-assertion'], 'string')
})

test('a signed-in user cannot override their own identity headers', async (t) => {
  const {session} = await signIn(e, `https://${app}:${e.port}/admin`, ADMIN_EMAIL, ADMIN_PASSWORD)
  const r = await edgeFetch(e, app, '/admin', {headers: {cookie: `__Host-mezu_session=${session}`, 'mezu-user-email': 'ceo@example.test'}})
  t.is(r.status, 200)
  t.is(r.json.headers['mezu-user-email'], ADMIN_EMAIL)
})

test('a browser that is signed in but not allowed gets a 403 page; an API client gets JSON', async (t) => {
  // the sign-in succeeds; the route then refuses the signed-in user
  const {session, final} = await signIn(e, `https://bob.${e.domain}:${e.port}/`, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is(final.status, 403)
  t.regex(String(final.headers['content-type']), /text\/html/)
  const api = await edgeFetch(e, `bob.${e.domain}`, '/', {headers: {cookie: `__Host-mezu_session=${session}`, accept: 'application/json'}})
  t.is(api.status, 403)
  t.is(api.json.error.code, 'forbidden')
  t.deepEqual(api.json.error.reasons, ['user-unauthorized'])
})

test('an API client without a session gets 401 JSON with WWW-Authenticate, not a redirect', async (t) => {
  const get = await edgeFetch(e, app, '/admin', {headers: {accept: 'application/json'}})
  t.is(get.status, 401)
  t.is(get.json.error.code, 'unauthenticated')
  t.regex(String(get.headers['www-authenticate']), /^Mezu realm=/)
  const post = await edgeFetch(e, app, '/admin', {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}})
  t.is(post.status, 401)
  t.truthy(post.headers['www-authenticate'])
})

for (const evil of ['https://evil.example/', '//evil.example/', 'javascript:alert(1)', `https://${'app'}.mezu.localhost:1\\@evil.example/`, 'http://app.mezu.localhost/', 'https://evil.example\\.mezu.localhost/', '/\\evil.example']) {
  test(`an open redirect to ${evil} lands on the safe default`, async (t) => {
    const page = await openLoginPage(e, evil)
    t.is(page.res.status, 200)
    t.is(page.returnField, '', 'the form does not carry the bad URL')
    const post = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: evil}, `__Host-mezu_csrf=${page.csrfCookie}`)
    t.is(post.status, 303)
    t.is(post.headers.location, '/')
  })
}

test('refuses a URL longer than the limit with 414', async (t) => {
  const r = await edgeFetch(e, app, '/' + 'a'.repeat(600))
  t.is(r.status, 414)
})

test('refuses request headers larger than the limit with 431', async (t) => {
  const r = await edgeFetch(e, app, '/x', {headers: {'x-big': 'b'.repeat(5000)}})
  t.is(r.status, 431)
})

test('refuses the third request in a minute on a route limited to 2 with 429 and Retry-After', async (t) => {
  const host = `limited.${e.domain}`
  t.is((await edgeFetch(e, host, '/')).status, 200)
  t.is((await edgeFetch(e, host, '/')).status, 200)
  const third = await edgeFetch(e, host, '/', {headers: {accept: 'application/json'}})
  t.is(third.status, 429)
  t.true(Number(third.headers['retry-after']) >= 1)
  t.is(third.json.error.code, 'rate_limited')
})
