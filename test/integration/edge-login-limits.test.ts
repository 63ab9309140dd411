import test from 'ava'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, formField, openLoginPage, postLogin, setCookie, startIdentityEdge} from '../helpers/identity-edge.js'

test('repeated failed logins for an account are refused with 429 and Retry-After, even with the right password', async (t) => {
  const e = await startIdentityEdge(t, {loginLimit: {slowAfter: 100, lockAfter: 3, windowMs: 60_000, lockMs: 60_000, delayMs: 0}})
  const page = await openLoginPage(e, '')
  const cookies = `__Host-mezu_csrf=${page.csrfCookie}`
  for (let i = 0; i < 3; i++) t.is((await postLogin(e, {email: ADMIN_EMAIL, password: `wrong ${i}`, csrf: page.csrf, return: ''}, cookies)).status, 401)
  const locked = await postLogin(e, {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, csrf: page.csrf, return: ''}, cookies)
  t.is(locked.status, 429)
  t.true(Number(locked.headers['retry-after']) > 0)
  t.is(setCookie(locked, '__Host-mezu_session'), undefined)
  t.truthy(formField(locked.text, 'csrf'), 'the form is shown again')
})

test('refuses a login form larger than 16 KiB with 413 and a non-form body with 415', async (t) => {
  const e = await startIdentityEdge(t)
  const page = await openLoginPage(e, '')
  const big = await postLogin(e, {email: ADMIN_EMAIL, password: 'x'.repeat(20_000), csrf: page.csrf, return: ''}, `__Host-mezu_csrf=${page.csrfCookie}`)
  t.is(big.status, 413)
  const json = await edgeFetch(e, `auth.${e.domain}`, '/login', {method: 'POST', body: '{}', headers: {'content-type': 'application/json', cookie: `__Host-mezu_csrf=${page.csrfCookie}`}})
  t.is(json.status, 415)
})
