import test from 'ava'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, formField, openLoginPage, postLogin, setCookie, startIdentityEdge} from '../helpers/identity-edge.js'

const LIMITS = {slowAfter: 100, lockAfter: 3, ipLockAfter: 100, windowMs: 60_000, lockMs: 60_000, delayMs: 0, maxDelayMs: 0}

test('an attacker failing again and again on the login form is locked out at their address, while the owner signs in from another', async (t) => {
  const e = await startIdentityEdge(t, {loginLimit: LIMITS})
  const page = await openLoginPage(e, '')
  const cookies = `__Host-mezu_csrf=${page.csrfCookie}`
  const attacker = '127.0.0.2'
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await postLogin(e, {email: ADMIN_EMAIL, password: `wrong ${i}`, csrf: page.csrf, return: ''}, cookies, attacker)).status)
  t.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429, 429])
  const locked = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: ''}, cookies, attacker)
  t.is(locked.status, 429, 'the attacker\'s address stays locked, even with the right password')
  t.true(Number(locked.headers['retry-after']) > 0)
  t.is(setCookie(locked, '__Host-mezu_session'), undefined)
  t.truthy(formField(locked.text, 'csrf'), 'the form is shown again')

  const owner = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: ''}, cookies, '127.0.0.3')
  t.is(owner.status, 303)
  t.truthy(setCookie(owner, '__Host-mezu_session'), 'the owner gets a session')
  t.is((await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: ''}, cookies, attacker)).status, 429, 'and the attacker is still locked')
})

test('refuses a login form larger than 16 KiB with 413 and a non-form body with 415', async (t) => {
  const e = await startIdentityEdge(t)
  const page = await openLoginPage(e, '')
  const big = await postLogin(e, {email: ADMIN_EMAIL, password: 'x'.repeat(20_000), csrf: page.csrf, return: ''}, `__Host-mezu_csrf=${page.csrfCookie}`)
  t.is(big.status, 413)
  const json = await edgeFetch(e, `auth.${e.domain}`, '/login', {method: 'POST', body: '{}', headers: {'content-type': 'application/json', cookie: `__Host-mezu_csrf=${page.csrfCookie}`}})
  t.is(json.status, 415)
})
