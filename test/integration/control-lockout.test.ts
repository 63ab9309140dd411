import {request} from 'node:https'
import test from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {loginHistory} from '../../platform/store/identity/login-history.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'

// Small limits so the test needs few attempts: slowed from the 2nd failure, an address locked out of
// one account at its 4th and out of every account at its 8th; the account itself only ever slowed.
const LIMITS = {slowAfter: 2, lockAfter: 4, ipLockAfter: 8, windowMs: 10 * 60_000, lockMs: 10 * 60_000, delayMs: 50, maxDelayMs: 150}

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
    const req = request(new URL('/v1/sessions', p.apiUrl), {method: 'POST', ca: p.caPem, localAddress: from, agent: false, headers: {'content-type': 'application/json', 'user-agent': 'lockout-test'}}, (res) => {
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
  const user = await createUser(p.ctx.idb, {email, name: 'x', role: 'member', status: 'active', passwordHash: await p.ctx.stores.passwords.hash(password)})
  return {p, user}
}

const sessionsOf = async (p: TestPlatform, userId: string) => (await p.ctx.idb.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length

test('an attacker failing again and again from one address is locked out there, while the owner logs in from another address with the right password', async (t) => {
  const {p, user} = await platformWithUser(t, 'target@example.test', 'the right password')
  const attacker = '127.0.0.10'
  const results: Attempt[] = []
  for (let i = 0; i < 12; i++) results.push(await login(p, attacker, 'target@example.test', `wrong ${i}`))
  t.deepEqual(results.map((r) => r.status), [401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429, 429])
  t.true(results.slice(0, 4).every((r) => r.body.error.code === 'invalid_credentials'))
  // Attempts after `slowAfter` failures wait at least delayMs before answering (a lower bound, so it cannot flake).
  t.true(results[2]!.elapsedMs >= LIMITS.delayMs, `third attempt took ${results[2]!.elapsedMs} ms`)

  const locked = await login(p, attacker, 'TARGET@example.test', 'the right password')
  t.is(locked.status, 429, 'the attacker\'s address stays locked, even with the right password')
  t.is(locked.body.error.code, 'too_many_requests')
  t.regex(locked.retryAfter ?? '', /^\d+$/)
  t.true(Number(locked.retryAfter) > 0 && Number(locked.retryAfter) <= LIMITS.lockMs / 1000)
  t.false(JSON.stringify(locked.body).includes('target@'), 'the refusal does not echo the account')
  t.is(await sessionsOf(p, user.id), 0)

  // the owner, from an address that has not failed: slowed by the account's failures, not refused
  const owner = await login(p, '127.0.0.11', 'target@example.test', 'the right password')
  t.is(owner.status, 201)
  t.true(owner.elapsedMs >= LIMITS.maxDelayMs, `the owner's login took ${owner.elapsedMs} ms`)
  t.is(await sessionsOf(p, user.id), 1)
  // the owner's success does not unlock the attacker
  t.is((await login(p, attacker, 'target@example.test', 'the right password')).status, 429)
  t.is((await login(p, attacker, 'target@example.test', 'wrong again')).status, 429)
  // a third, unrelated account from the attacker's address is not locked (the address made 4 < 8 failures)
  t.is((await login(p, attacker, ADMIN_EMAIL, ADMIN_PASSWORD)).status, 201)

  // only tries that checked a password are in the login history (refusals checked none)
  const history = await loginHistory(p.ctx.idb, user.id)
  t.is(history.filter((h) => h.result === 'wrong-password').length, LIMITS.lockAfter)
  t.true(history.filter((h) => h.result === 'wrong-password').every((h) => h.userAgent === 'lockout-test' && h.ip === attacker))
  t.is(history.filter((h) => h.result === 'success').length, 1)
})

test('failures spread over many addresses slow the account down but never lock it', async (t) => {
  const {p, user} = await platformWithUser(t, 'spread@example.test', 'the right password')
  const statuses: number[] = []
  for (let i = 0; i < 20; i++) statuses.push((await login(p, `127.0.0.${20 + i}`, 'spread@example.test', `wrong ${i}`)).status)
  t.deepEqual(statuses, Array.from({length: 20}, () => 401))
  const owner = await login(p, '127.0.0.60', 'spread@example.test', 'the right password')
  t.is(owner.status, 201)
  t.true(owner.elapsedMs >= LIMITS.maxDelayMs, `the owner's login took ${owner.elapsedMs} ms`)
  t.is((await loginHistory(p.ctx.idb, user.id)).filter((h) => h.result === 'wrong-password').length, 20)
})

test('tries sent in parallel from one address cannot get past the lock by all passing the check at once', async (t) => {
  const {p, user} = await platformWithUser(t, 'burst@example.test', 'the right password')
  const from = '127.0.0.70'
  // two failures, so every further try is delayed: the window the burst would use
  for (let i = 0; i < 2; i++) t.is((await login(p, from, 'burst@example.test', 'nope')).status, 401)
  const burst = await Promise.all(Array.from({length: 12}, (_, i) => login(p, from, 'burst@example.test', `guess ${i}`)))
  const checked = burst.filter((r) => r.status === 401).length
  t.is(checked, LIMITS.lockAfter - 2, `${checked} of the parallel tries had their password checked`)
  t.true(burst.every((r) => r.status === 401 || r.status === 429))
  t.is((await loginHistory(p.ctx.idb, user.id)).length, LIMITS.lockAfter)
})

test('failed logins from one address are refused with 429 for every account, while other addresses still log in', async (t) => {
  const p = await startTestPlatform(t, {loginLimit: LIMITS})
  const from = '127.0.0.50'
  // a different (unknown) account each time, so only the address's counter can be what locks
  for (let i = 0; i < LIMITS.ipLockAfter; i++) {
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

test('a success before the lock clears that address\'s failures for the account', async (t) => {
  const {p} = await platformWithUser(t, 'forgetful@example.test', 'the right password')
  const from = '127.0.0.80'
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) t.is((await login(p, from, 'forgetful@example.test', 'nope')).status, 401)
  t.is((await login(p, from, 'forgetful@example.test', 'the right password')).status, 201)
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) t.is((await login(p, from, 'forgetful@example.test', 'nope')).status, 401)
  t.is((await login(p, from, 'forgetful@example.test', 'the right password')).status, 201)
})
