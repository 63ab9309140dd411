import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'

const HOUR = 3_600_000

test('a session ends after its idle time and its absolute lifetime, and says which', async (t) => {
  const p = await startTestPlatform(t, {sessionIdleMs: HOUR, sessionMaxAgeMs: 24 * HOUR})
  const me = (token: string) => api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})
  const db = p.ctx.idb.db
  const sessionOf = async (token: string) => (await me(token)).body.principal.sessionId as string

  const idle = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const idleId = await sessionOf(idle)
  // activity an hour and a minute ago, as if the session had been left alone
  await db.updateTable('sessions').set({last_used_at: Date.now() - HOUR - 60_000}).where('id', '=', idleId).execute()
  const r1 = await me(idle)
  t.is(r1.status, 401)
  t.is(r1.body.error.code, 'token_expired')

  const old = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  await db.updateTable('sessions').set({expires_at: Date.now() - 1}).where('id', '=', await sessionOf(old)).execute()
  const r2 = await me(old)
  t.is(r2.status, 401)
  t.is(r2.body.error.code, 'token_expired')

  const fresh = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is((await me(fresh)).status, 200, 'other sessions are unaffected')
})

test('session tokens and API keys are stored only as keyed hashes and carry a recognisable prefix', async (t) => {
  const p = await startTestPlatform(t)
  const token = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.regex(token, /^mezu_sess_[A-Za-z0-9_-]{43}$/)
  const sa = await api(p.apiUrl, p.caPem, 'POST', '/v1/service-accounts', {token, body: {name: 'bot', scopes: ['projects:read']}})
  t.regex(sa.body.apiKey, /^mezu_sa_[A-Za-z0-9_-]{43}$/)
  const hashes = [
    ...(await p.ctx.idb.db.selectFrom('sessions').select('token_hash as h').execute()),
    ...(await p.ctx.idb.db.selectFrom('api_keys').select('key_hash as h').execute()),
  ]
  t.is(hashes.length, 2)
  for (const {h} of hashes) {
    t.is(h.length, 32)
    t.false(h.includes(Buffer.from(token)) || h.includes(Buffer.from(sa.body.apiKey)))
  }
  // a key revoked through the API stops working at once, and says so
  t.is((await api(p.apiUrl, p.caPem, 'POST', '/v1/service-accounts/bot/revoke', {token})).status, 200)
  const r = await api(p.apiUrl, p.caPem, 'GET', '/v1/projects', {token: sa.body.apiKey})
  t.is(r.status, 401)
  t.is(r.body.error.code, 'token_revoked')
})
