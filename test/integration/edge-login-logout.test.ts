import test, {type ExecutionContext} from 'ava'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, type EdgeResponse, formField, type IdentityEdge, setCookie, signIn, splitUrl, startIdentityEdge} from '../helpers/identity-edge.js'

const SESSION = '__Host-mezu_session'

/** The edge with one login-protected route. */
async function withRoute(t: ExecutionContext): Promise<IdentityEdge> {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  return e
}

/** A browser signed in to the route (its session is also the auth host's: one session, one token). */
async function signedIn(e: IdentityEdge): Promise<{host: string; session: string; cookie: {cookie: string}}> {
  const host = `hello.${e.domain}`
  const {session} = await signIn(e, `https://${host}:${e.port}/`, ADMIN_EMAIL, ADMIN_PASSWORD)
  return {host, session, cookie: {cookie: `${SESSION}=${session}`}}
}

/** True while the route still lets this session through to the origin. */
async function stillSignedIn(e: IdentityEdge, host: string, cookie: {cookie: string}): Promise<boolean> {
  return (await edgeFetch(e, host, '/whoami', {headers: cookie})).status === 200
}

function postForm(e: IdentityEdge, host: string, path: string, fields: Record<string, string>, headers: Record<string, string>): Promise<EdgeResponse> {
  return edgeFetch(e, host, path, {method: 'POST', body: new URLSearchParams(fields).toString(), headers: {'content-type': 'application/x-www-form-urlencoded', ...headers}})
}

const clearsSession = (r: EdgeResponse) => setCookie(r, SESSION)?.attrs.includes('Max-Age=0') ?? false

test('a GET of /.mezu/logout, which any cross-site link can cause, only shows a form that POSTs: the session still works', async (t) => {
  const e = await withRoute(t)
  const {host, cookie} = await signedIn(e)
  const page = await edgeFetch(e, host, '/.mezu/logout', {headers: {...cookie, 'sec-fetch-site': 'cross-site'}})
  t.is(page.status, 200)
  t.regex(String(page.headers['content-type']), /^text\/html/)
  t.regex(page.text, /<form method="post" action="\/\.mezu\/logout">/)
  t.truthy(formField(page.text, 'csrf'))
  t.is(setCookie(page, SESSION), undefined, 'the cookie is not cleared')
  t.true(await stillSignedIn(e, host, cookie))
})

test('a POST to /.mezu/logout without a valid token is refused and does not end the session', async (t) => {
  const e = await withRoute(t)
  const a = await signedIn(e)
  const b = await signedIn(e)
  t.not(a.session, b.session)
  const crossSite = {...a.cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site'}
  const refused = async (what: string, attempt: Promise<EdgeResponse>, status = 403) => {
    const r = await attempt
    t.is(r.status, status, what)
    t.false(clearsSession(r), `${what}: the cookie is not cleared`)
    t.true(await stillSignedIn(e, a.host, a.cookie), `${what}: the session still works`)
  }
  await refused('no token', postForm(e, a.host, '/.mezu/logout', {}, crossSite))
  await refused('a made-up token', postForm(e, a.host, '/.mezu/logout', {csrf: 'made-up'}, crossSite))

  const tokenA = formField((await edgeFetch(e, a.host, '/.mezu/logout', {headers: a.cookie})).text, 'csrf')!
  const tokenB = formField((await edgeFetch(e, b.host, '/.mezu/logout', {headers: b.cookie})).text, 'csrf')!
  t.not(tokenA, tokenB, 'a token belongs to one session')
  await refused('another session\'s token', postForm(e, a.host, '/.mezu/logout', {csrf: tokenB}, crossSite))
  await refused('the token in the query', postForm(e, a.host, `/.mezu/logout?csrf=${encodeURIComponent(tokenA)}`, {}, crossSite))
  await refused('a JSON body', edgeFetch(e, a.host, '/.mezu/logout', {method: 'POST', body: JSON.stringify({csrf: tokenA}), headers: {...a.cookie, 'content-type': 'application/json'}}), 415)
  await refused('the token without the session cookie', postForm(e, a.host, '/.mezu/logout', {csrf: tokenA}, {}))
  t.true(await stillSignedIn(e, b.host, b.cookie))
})

test('the form\'s POST signs out: the session is revoked, the route asks for login again, the auth host says signed out', async (t) => {
  const e = await withRoute(t)
  const {host, cookie} = await signedIn(e)
  const page = await edgeFetch(e, host, '/.mezu/logout', {headers: cookie})
  const out = await postForm(e, host, '/.mezu/logout', {csrf: formField(page.text, 'csrf')!}, cookie)
  t.is(out.status, 303)
  t.is(out.headers.location, `https://auth.${e.domain}:${e.port}/logout`)
  t.true(clearsSession(out))
  const after = await edgeFetch(e, host, '/', {headers: cookie})
  t.is(after.status, 302)
  t.is(splitUrl(after.headers.location!).path.split('?')[0], '/login')
  const auth = await edgeFetch(e, `auth.${e.domain}`, '/logout', {headers: cookie})
  t.is(auth.status, 200)
  t.regex(auth.text, /Signed out/)
  t.true(clearsSession(auth), 'the auth host drops its copy of the ended session')
})

test('auth.<domain>/logout: GET shows the form, a POST without its token is refused, a POST with it signs out', async (t) => {
  const e = await withRoute(t)
  const {host, cookie} = await signedIn(e)
  const auth = `auth.${e.domain}`
  const page = await edgeFetch(e, auth, '/logout', {headers: {...cookie, 'sec-fetch-site': 'cross-site'}})
  t.is(page.status, 200)
  t.regex(page.text, /<form method="post" action="\/logout">/)
  t.false(clearsSession(page))
  t.true(await stillSignedIn(e, host, cookie), 'a GET signs nobody out')

  for (const fields of [{}, {csrf: 'made-up'}] as Array<Record<string, string>>) {
    const refused = await postForm(e, auth, '/logout', fields, {...cookie, origin: 'https://evil.example'})
    t.is(refused.status, 403, JSON.stringify(fields))
    t.false(clearsSession(refused))
    t.true(await stillSignedIn(e, host, cookie), `${JSON.stringify(fields)}: the session still works`)
  }

  const out = await postForm(e, auth, '/logout', {csrf: formField(page.text, 'csrf')!}, cookie)
  t.is(out.status, 200)
  t.regex(out.text, /Signed out/)
  t.true(clearsSession(out))
  t.false(await stillSignedIn(e, host, cookie), 'the one session is revoked for every host')
})
