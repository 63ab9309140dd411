import {request} from 'node:https'
import test from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {loginHistory} from '../../platform/store/identity/login-history.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'

// Small limits so the test needs few attempts: slowed from the 2nd failure, locked at the 4th.
const LIMITS = {slowAfter: 2, lockAfter: 4, windowMs: 10 * 60_000, lockMs: 10 * 60_000, delayMs: 300}

interface Attempt {
  status: number
  retryAfter: string | undefined
  body: any
  elapsedMs: number
}

/** POST /v1/sessions from a chosen loopback address (127.0.0.0/8 all reaches the platform). */
function login(p: TestPlatform, from: string, email: string, password: string): Promise<Attempt> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(new URL('/v1/sessions', p.apiUrl), {method: 'POST', ca: p.caPem, localAddress: from, headers: {'content-type': 'application/json', 'user-agent': 'lockout-test'}}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text), elapsedMs: performance.now() - started}))
    })
    req.on('error', reject)
    req.end(JSON.stringify({email, password}))
  })
}

async function platformWithUser(t: any, email: string, password: string) {
  const p = await startTestPlatform(t, {loginLimit: LIMITS})
  const user = createUser(p.ctx.idb, {email, name: 'x', role: 'member', status: 'active', passwordHash: p.ctx.stores.passwords.hash(password)})
  return {p, user}
}

test('failed logins for one account are slowed, then refused with 429 and Retry-After, even from fresh addresses and with the right password', async (t) => {
  const {p, user} = await platformWithUser(t, 'target@example.test', 'the right password')
  const results: Attempt[] = []
  // each failure from another address, so only the account's counter can be what locks
  for (let i = 0; i < LIMITS.lockAfter; i++) results.push(await login(p, `127.0.0.${10 + i}`, 'target@example.test', `wrong ${i}`))
  t.deepEqual(results.map((r) => r.status), [401, 401, 401, 401])
  t.true(results.every((r) => r.body.error.code === 'invalid_credentials'))
  // Attempts after `slowAfter` failures wait at least delayMs before answering (a lower bound, so it cannot flake).
  t.true(results[2].elapsedMs >= LIMITS.delayMs, `third attempt took ${results[2].elapsedMs} ms`)
  t.true(results[3].elapsedMs >= 2 * LIMITS.delayMs, `fourth attempt took ${results[3].elapsedMs} ms`)

  const locked = await login(p, '127.0.0.30', 'TARGET@example.test', 'the right password')
  t.is(locked.status, 429)
  t.is(locked.body.error.code, 'too_many_requests')
  t.regex(locked.retryAfter ?? '', /^\d+$/)
  t.true(Number(locked.retryAfter) > 0 && Number(locked.retryAfter) <= LIMITS.lockMs / 1000)
  t.false(JSON.stringify(locked.body).includes('target@'), 'the refusal does not echo the account')

  // the lock is the account's: another account from the same address still logs in
  t.is((await login(p, '127.0.0.30', ADMIN_EMAIL, ADMIN_PASSWORD)).status, 201)
  // and no session was created for the locked account
  t.is((p.ctx.idb.db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = ?').get(user.id) as {n: number}).n, 0)

  // every failure is in the login history, with address, user agent and result
  const history = loginHistory(p.ctx.idb, user.id)
  t.is(history.length, LIMITS.lockAfter)
  t.true(history.every((h) => h.result === 'wrong-password' && h.userAgent === 'lockout-test' && /^127\.0\.0\.1\d$/.test(h.ip ?? '')))
})

test('failed logins from one address are refused with 429 for every account, while other addresses still log in', async (t) => {
  const p = await startTestPlatform(t, {loginLimit: LIMITS})
  const from = '127.0.0.50'
  // a different (unknown) account each time, so only the address's counter can be what locks
  for (let i = 0; i < LIMITS.lockAfter; i++) {
    const r = await login(p, from, `guess${i}@example.test`, 'password')
    t.is(r.status, 401)
  }
  const locked = await login(p, from, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is(locked.status, 429)
  t.is(locked.body.error.code, 'too_many_requests')
  t.true(Number(locked.retryAfter) > 0)
  t.is((await login(p, '127.0.0.51', ADMIN_EMAIL, ADMIN_PASSWORD)).status, 201)
  t.is((await login(p, from, 'another@example.test', 'x')).status, 429, 'still locked')
})

test('a success before the lock clears the account counter', async (t) => {
  const {p} = await platformWithUser(t, 'forgetful@example.test', 'the right password')
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) t.is((await login(p, `127.0.0.${60 + i}`, 'forgetful@example.test', 'nope')).status, 401)
  t.is((await login(p, '127.0.0.70', 'forgetful@example.test', 'the right password')).status, 201)
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) t.is((await login(p, `127.0.0.${80 + i}`, 'forgetful@example.test', 'nope')).status, 401)
  t.is((await login(p, '127.0.0.90', 'forgetful@example.test', 'the right password')).status, 201)
})
