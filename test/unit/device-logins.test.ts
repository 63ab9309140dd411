import {createHmac, randomBytes} from 'node:crypto'
import test from 'ava'
import {DeviceLogins, normaliseUserCode, USER_CODE_ALPHABET} from '../../platform/control/device-logins.js'
import {acceptDevicePageUrl} from '../../platform/edge/login/return-url.js'
import {MezuError} from '../../src/lib/errors.js'
import {pollDeviceLogin} from '../../src/lib/web-login.js'

const META = {client: 'cli', ip: '203.0.113.9', userAgent: 'mezu-cli'}

function logins(opts: {ttlMs?: number; intervalSeconds?: number; maxPending?: number} = {}) {
  const clock = {now: 1_700_000_000_000}
  const key = randomBytes(32)
  const hashed: string[] = []
  const hash = (s: string) => {
    hashed.push(s)
    return createHmac('sha256', key).update(s).digest()
  }
  const d = new DeviceLogins(hash, {ttlMs: opts.ttlMs ?? 600_000, intervalSeconds: opts.intervalSeconds ?? 5, maxPending: opts.maxPending}, () => clock.now)
  return {d, clock, hashed}
}

test('user codes are 8 letters from the unambiguous alphabet, XXXX-XXXX, and typed any case with or without the dash', (t) => {
  const {d} = logins()
  for (let i = 0; i < 50; i++) {
    const s = d.start(META)!
    t.regex(s.userCode, /^[A-Z]{4}-[A-Z]{4}$/)
    t.true([...s.userCode.replace('-', '')].every((c) => USER_CODE_ALPHABET.includes(c)))
  }
  t.false(/[AEIOU01]/.test(USER_CODE_ALPHABET))
  t.is(normaliseUserCode('bcdf ghjk'), 'BCDF-GHJK')
  t.is(normaliseUserCode('BCDFGHJK'), 'BCDF-GHJK')
  t.is(normaliseUserCode('BCDF-GHJ'), undefined)
  t.is(normaliseUserCode('ABCD-EFGH'), undefined, 'vowels are never in a code')
  t.is(normaliseUserCode('B'.repeat(40)), undefined)
})

test('keeps only keyed hashes: neither code is stored as given', (t) => {
  const {d} = logins()
  const s = d.start(META)!
  const held = JSON.stringify([...(d as unknown as {byDevice: Map<string, unknown>}).byDevice.values()])
  t.false(held.includes(s.deviceCode))
  t.false(held.includes(s.userCode))
  t.false(held.includes(s.userCode.replace('-', '')))
})

test('pending until approved; the approval is answered once, then the device code is unknown', (t) => {
  const {d, clock} = logins()
  const s = d.start(META)!
  t.deepEqual(d.poll(s.deviceCode), {status: 'pending'})
  t.truthy(d.decide(s.userCode, 'usr_a', true))
  clock.now += 5000
  const r = d.poll(s.deviceCode)
  t.is(r.status, 'approved')
  if (r.status === 'approved') {
    t.is(r.userId, 'usr_a')
    t.deepEqual(r.meta, META)
  }
  clock.now += 5000
  t.deepEqual(d.poll(s.deviceCode), {status: 'expired'})
  t.is(d.size, 0)
})

test('a denied login answers denied once; a decided code cannot be decided again', (t) => {
  const {d} = logins()
  const s = d.start(META)!
  t.truthy(d.decide(s.userCode, 'usr_a', false))
  t.is(d.decide(s.userCode, 'usr_b', true), undefined)
  t.is(d.find(s.userCode), undefined)
  t.deepEqual(d.poll(s.deviceCode), {status: 'denied'})
  t.deepEqual(d.poll(s.deviceCode), {status: 'expired'})
})

test('expires: neither the page nor the CLI can use a code past its lifetime', (t) => {
  const {d, clock} = logins({ttlMs: 60_000})
  const s = d.start(META)!
  clock.now += 60_000
  t.is(d.find(s.userCode), undefined)
  t.is(d.decide(s.userCode, 'usr_a', true), undefined)
  t.deepEqual(d.poll(s.deviceCode), {status: 'expired'})
})

test('polling inside the interval is told to slow down, and the interval grows by 5 s each time', (t) => {
  const {d, clock} = logins({intervalSeconds: 5})
  const s = d.start(META)!
  t.deepEqual(d.poll(s.deviceCode), {status: 'pending'})
  clock.now += 1000
  t.deepEqual(d.poll(s.deviceCode), {status: 'slow_down', intervalSeconds: 10})
  clock.now += 6000
  t.deepEqual(d.poll(s.deviceCode), {status: 'slow_down', intervalSeconds: 15})
  clock.now += 15_000
  t.deepEqual(d.poll(s.deviceCode), {status: 'pending'})
})

test('refuses to hold more than maxPending logins, and expired ones make room', (t) => {
  const {d, clock} = logins({maxPending: 2, ttlMs: 1000})
  t.truthy(d.start(META))
  t.truthy(d.start(META))
  t.is(d.start(META), undefined)
  clock.now += 1000
  t.truthy(d.start(META))
})

test('the approval page is the only return target on the login host', (t) => {
  const host = 'auth.mezu.localhost'
  t.deepEqual(acceptDevicePageUrl(`https://${host}:8443/device?code=BCDF-GHJK`, host, 8443), {url: `https://${host}:8443/device?code=BCDF-GHJK`, host})
  t.truthy(acceptDevicePageUrl(`https://${host}:8443/device`, host, 8443))
  t.truthy(acceptDevicePageUrl(`https://${host}/device`, host, 443))
  for (const bad of [
    `https://${host}:8443/login`, `https://${host}:8443/device/x`, `https://${host}:9443/device`, `http://${host}:8443/device`,
    `https://evil.example/device`, `https://${host}:8443/device?code=X&return=https://evil.example`, `https://u:p@${host}:8443/device`,
    `https://${host}:8443/device#frag`, `https://${host}:8443/device?code=${'B'.repeat(40)}`, ` https://${host}:8443/device`,
  ]) t.is(acceptDevicePageUrl(bad, host, 8443), null, bad)
})

/** A sleep that records the waits and never waits. */
function fakeTime() {
  const waits: number[] = []
  let now = 0
  return {waits, deps: {sleep: async (ms: number) => {
    waits.push(ms)
    now += ms
  }, now: () => now}}
}

const fail = (code: string, message = code) => new MezuError(code, message)

test('the CLI waits the interval before each poll, keeps going on pending and network errors, and adds 5 s on slow_down', async (t) => {
  const answers: Array<Error | string> = [fail('authorization_pending'), fail('network'), fail('slow_down'), fail('authorization_pending'), 'session']
  const {waits, deps} = fakeTime()
  const r = await pollDeviceLogin(async () => {
    const a = answers.shift()!
    if (a instanceof Error) throw a
    return a
  }, {interval: 2, expiresIn: 600}, deps)
  t.is(r, 'session')
  t.deepEqual(waits, [2000, 2000, 2000, 7000, 7000])
})

test('the CLI stops with a clear error on denial, expiry and anything unexpected', async (t) => {
  for (const [code, want] of [['access_denied', /refused in the browser/], ['expired_token', /expired.*mezu login --web/], ['ca_untrusted', /ca_untrusted/]] as const) {
    const {deps} = fakeTime()
    const err = await t.throwsAsync(pollDeviceLogin(async () => {
      throw fail(code)
    }, {interval: 1, expiresIn: 600}, deps))
    t.is((err as MezuError).code, code)
    t.regex(err!.message, want)
  }
})

test('the CLI gives up on its own once the code must have expired, and a raised signal cancels', async (t) => {
  const {deps} = fakeTime()
  const err = await t.throwsAsync(pollDeviceLogin(async () => {
    throw fail('authorization_pending')
  }, {interval: 5, expiresIn: 10}, deps))
  t.is((err as MezuError).code, 'expired_token')

  const ac = new AbortController()
  const cancelled = await t.throwsAsync(pollDeviceLogin(async () => {
    ac.abort()
    throw fail('authorization_pending')
  }, {interval: 1, expiresIn: 600}, {signal: ac.signal}))
  t.is((cancelled as MezuError).code, 'cancelled')
})
