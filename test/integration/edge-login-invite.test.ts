import {randomBytes} from 'node:crypto'
import test from 'ava'
import {newId} from '../../src/protocol/ids.js'
import {newToken} from '../../src/protocol/tokens.js'
import {createUser, findUserByEmail} from '../../platform/store/identity/users.js'
import type {TestPlatform} from '../helpers/platform.js'
import {edgeFetch, formField, postLogin, setCookie, signIn, startIdentityEdge, type IdentityEdge} from '../helpers/identity-edge.js'

/** An invited user and their invitation, as the users API creates them (code stored as a keyed hash). */
async function invite(p: TestPlatform, email: string, ttlMs = 3_600_000): Promise<string> {
  const user = await createUser(p.ctx.idb, {email, name: email, role: 'member', status: 'invited', passwordHash: null})
  const code = newToken('invite')
  await p.ctx.idb.db.insertInto('invites').values({
    id: newId('invite'), user_id: user.id, code_hash: p.ctx.stores.hasher.tokenHash(code), created_at: Date.now(), expires_at: Date.now() + ttlMs, used_at: null,
  }).execute()
  return code
}

async function openInvite(e: IdentityEdge, code: string) {
  const page = await edgeFetch(e, `auth.${e.domain}`, `/invite?code=${encodeURIComponent(code)}`)
  return {page, csrfCookie: setCookie(page, '__Host-mezu_csrf')?.value ?? '', csrf: formField(page.text, 'csrf') ?? ''}
}

function postInvite(e: IdentityEdge, fields: Record<string, string>, csrfCookie: string) {
  return edgeFetch(e, `auth.${e.domain}`, '/invite', {
    method: 'POST', body: new URLSearchParams(fields).toString(),
    headers: {'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-mezu_csrf=${csrfCookie}`},
  })
}

test('an invited user sets a password from the invitation link and can then sign in to a route', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  const code = await invite(e.platform, 'ivy@example.test')
  const {page, csrfCookie, csrf} = await openInvite(e, code)
  t.is(page.status, 200)
  t.true(page.text.includes('ivy@example.test'))
  const set = await postInvite(e, {code, csrf, password: 'ivy has a long password', confirm: 'ivy has a long password'}, csrfCookie)
  t.is(set.status, 303)
  t.regex(set.headers.location!, /^\/login\?notice=password-set/)
  t.is((await findUserByEmail(e.platform.ctx.idb, 'ivy@example.test'))!.status, 'active')
  const {final} = await signIn(e, `https://hello.${e.domain}:${e.port}/`, 'ivy@example.test', 'ivy has a long password')
  t.is(final.status, 200)
  t.is(final.json.headers['mezu-user-email'], 'ivy@example.test')
})

test('an invitation works once', async (t) => {
  const e = await startIdentityEdge(t)
  const code = await invite(e.platform, 'jack@example.test')
  const first = await openInvite(e, code)
  t.is((await postInvite(e, {code, csrf: first.csrf, password: 'jack long password', confirm: 'jack long password'}, first.csrfCookie)).status, 303)
  t.is((await edgeFetch(e, `auth.${e.domain}`, `/invite?code=${encodeURIComponent(code)}`)).status, 400)
  const again = await postInvite(e, {code, csrf: first.csrf, password: 'another long password', confirm: 'another long password'}, first.csrfCookie)
  t.is(again.status, 400)
  const page = await edgeFetch(e, `auth.${e.domain}`, '/login')
  const cookie = setCookie(page, '__Host-mezu_csrf')!.value
  const login = await postLogin(e, {email: 'jack@example.test', password: 'another long password', csrf: formField(page.text, 'csrf')!, return: ''}, `__Host-mezu_csrf=${cookie}`)
  t.is(login.status, 401, 'the second attempt did not change the password')
})

test('refuses unknown and expired invitation codes', async (t) => {
  const e = await startIdentityEdge(t)
  const expired = await invite(e.platform, 'kim@example.test', -1000)
  t.is((await edgeFetch(e, `auth.${e.domain}`, `/invite?code=${expired}`)).status, 400)
  t.is((await edgeFetch(e, `auth.${e.domain}`, `/invite?code=mezu_inv_${randomBytes(32).toString('base64url')}`)).status, 400)
  t.is((await edgeFetch(e, `auth.${e.domain}`, '/invite')).status, 400)
})

test('refuses a set-password POST without a valid CSRF token, a short password, or mismatched passwords', async (t) => {
  const e = await startIdentityEdge(t)
  const code = await invite(e.platform, 'lee@example.test')
  const {csrfCookie, csrf} = await openInvite(e, code)
  t.is((await postInvite(e, {code, csrf: 'forged', password: 'lee long password', confirm: 'lee long password'}, csrfCookie)).status, 403)
  const short = await postInvite(e, {code, csrf, password: 'short', confirm: 'short'}, csrfCookie)
  t.is(short.status, 400)
  t.regex(short.text, /at least 12 characters/)
  t.is((await postInvite(e, {code, csrf, password: 'lee long password', confirm: 'lee long passwore'}, csrfCookie)).status, 400)
  t.is((await findUserByEmail(e.platform.ctx.idb, 'lee@example.test'))!.status, 'invited')
})
