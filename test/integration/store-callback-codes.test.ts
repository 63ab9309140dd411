import {randomBytes} from 'node:crypto'
import test from 'ava'
import {consumeCallbackCode, issueCallbackCode} from '../../platform/store/identity/callback-codes.js'
import {openStores} from '../../platform/store/stores.js'
import {tempDir} from '../helpers/platform.js'
import {testStoreLocation} from '../helpers/store-engine.js'

// Sign-in callback codes live in the store every control plane shares (SQLite, and PostgreSQL with
// MEZU_TEST_STORE=postgres): single use even when raced, bound to their host, short-lived, and
// nothing of the session readable at rest.

async function stores(t: Parameters<typeof tempDir>[0], masterKey = `v1:${randomBytes(32).toString('base64')}`) {
  const store = await testStoreLocation()
  const dir = tempDir(t)
  const s = await openStores(dir, {masterKey, create: true, store})
  t.teardown(() => s.close())
  return {s, open: async () => {
    const again = await openStores(dir, {masterKey, store})
    t.teardown(() => again.close())
    return again
  }}
}

test('a callback code works once, on its host, before it expires', async (t) => {
  const {s} = await stores(t)
  const c = s.ctx
  const now = Date.now()
  const a = await issueCallbackCode(c, {token: 'mezu_sess_a', host: 'hello.test', returnUrl: 'https://hello.test/x'}, 60_000, now)
  t.like(await consumeCallbackCode(c, a, 'hello.test', now + 1), {token: 'mezu_sess_a', host: 'hello.test', returnUrl: 'https://hello.test/x', expiresAtMs: now + 60_000})
  t.is(await consumeCallbackCode(c, a, 'hello.test', now + 2), undefined, 'second use')
  const b = await issueCallbackCode(c, {token: 'mezu_sess_b', host: 'hello.test', returnUrl: 'https://hello.test/'}, 60_000, now)
  t.is(await consumeCallbackCode(c, b, 'evil.test', now + 1), undefined, 'other host')
  t.is(await consumeCallbackCode(c, b, 'hello.test', now + 2), undefined, 'a code tried on the wrong host is burnt')
  const e = await issueCallbackCode(c, {token: 'mezu_sess_c', host: 'hello.test', returnUrl: 'https://hello.test/'}, 60_000, now)
  t.is(await consumeCallbackCode(c, e, 'hello.test', now + 60_001), undefined, 'expired')
  t.is(await consumeCallbackCode(c, 'not-a-code', 'hello.test', now), undefined)
})

test('a code raced by many redemptions, through two store connections, is redeemed exactly once', async (t) => {
  const {s, open} = await stores(t)
  const other = await open()
  const code = await issueCallbackCode(s.ctx, {token: 'mezu_sess_race', host: 'hello.test', returnUrl: 'https://hello.test/'}, 60_000)
  const tries = await Promise.all(Array.from({length: 8}, (_, i) => consumeCallbackCode((i % 2 ? other : s).ctx, code, 'hello.test')))
  t.is(tries.filter((r) => r?.token === 'mezu_sess_race').length, 1)
  t.is(tries.filter((r) => r === undefined).length, 7)
})

test('expired codes are cleared when new ones are issued; the session token is sealed at rest', async (t) => {
  const {s} = await stores(t)
  const c = s.ctx
  const now = Date.now()
  await issueCallbackCode(c, {token: 'mezu_sess_old', host: 'hello.test', returnUrl: 'https://hello.test/'}, 1_000, now - 5_000)
  await issueCallbackCode(c, {token: 'mezu_sess_new_token_value', host: 'hello.test', returnUrl: 'https://hello.test/'}, 60_000, now)
  const rows = await c.db.selectFrom('callback_codes').selectAll().execute()
  t.is(rows.length, 1, 'the expired one went')
  t.false(Buffer.from(rows[0].doc).includes('mezu_sess_new_token_value'), 'the token is not in the clear')
  t.false(Buffer.from(rows[0].doc).includes('hello.test'))
})
