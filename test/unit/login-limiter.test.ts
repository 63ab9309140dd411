import test from 'ava'
import {LoginLimiter, type LoginTry, type TryOutcome} from '../../platform/control/login-limiter.js'

const LIMITS = {slowAfter: 2, lockAfter: 4, ipLockAfter: 6, windowMs: 60_000, lockMs: 30_000, delayMs: 100, maxDelayMs: 1000}

function limiter(limits = LIMITS) {
  const clock = {now: 1_000_000}
  return {clock, l: new LoginLimiter(limits, () => clock.now)}
}

/** One whole try: begin, then settle with `outcome`; returns what begin answered. */
function attempt(l: LoginLimiter, subject: string, ip: string, outcome: TryOutcome = 'failed'): LoginTry {
  const a = l.begin(subject, ip)
  if (a.allowed) a.settle(outcome)
  return a
}

const delayOf = (a: LoginTry) => (a.allowed ? a.delayMs : -1)

test('one address failing against one account is slowed after slowAfter, growing with each failure, then refused at lockAfter', (t) => {
  const {l} = limiter()
  const delays = Array.from({length: LIMITS.lockAfter}, () => delayOf(attempt(l, 'acct:a', '10.0.0.1')))
  t.deepEqual(delays, [0, 0, 100, 200])
  const locked = l.begin('acct:a', '10.0.0.1')
  t.false(locked.allowed)
  if (!locked.allowed) t.is(locked.retryAfterMs, LIMITS.lockMs)
})

test('a locked address does not lock the account: another address gets in, slowed by the account\'s failures', (t) => {
  const {l} = limiter()
  for (let i = 0; i < 20; i++) attempt(l, 'acct:a', '10.0.0.1')
  t.false(l.begin('acct:a', '10.0.0.1').allowed)
  const owner = l.begin('acct:a', '10.0.0.2')
  t.true(owner.allowed)
  t.is(delayOf(owner), 300, 'the account has 4 failures: the ones before the address was refused')
  if (owner.allowed) owner.settle('succeeded')
  t.false(l.begin('acct:a', '10.0.0.1').allowed, 'the owner\'s success does not unlock the attacker')
})

test('failures spread over many addresses slow the account by at most maxDelayMs and never refuse it', (t) => {
  const {l} = limiter()
  const delays: number[] = []
  for (let i = 0; i < 1000; i++) {
    const a = attempt(l, 'acct:a', `10.1.${i >> 8}.${i & 255}`)
    t.true(a.allowed)
    delays.push(delayOf(a))
  }
  t.deepEqual(delays.slice(0, 5), [0, 0, 100, 200, 300])
  t.true(delays.every((d) => d <= LIMITS.maxDelayMs))
  t.is(delays.at(-1), LIMITS.maxDelayMs)
  const owner = l.begin('acct:a', '10.2.0.1')
  t.true(owner.allowed)
  t.is(delayOf(owner), LIMITS.maxDelayMs)
  t.deepEqual(delayOf(l.begin('acct:b', '10.2.0.1')), 0, 'other accounts are not slowed')
})

test('one address failing against many accounts is refused for all of them at ipLockAfter, and only that address is', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.ipLockAfter; i++) t.true(attempt(l, `acct:${i}`, '10.0.0.1').allowed)
  const refused = l.begin('acct:new', '10.0.0.1')
  t.false(refused.allowed)
  t.is(l.addressLockedForMs('10.0.0.1'), LIMITS.lockMs)
  t.is(l.addressLockedForMs('10.0.0.2'), 0)
  t.true(l.begin('acct:new', '10.0.0.2').allowed)
})

test('tries in flight count as failures, so a burst cannot pass the check all at once', (t) => {
  const {l} = limiter()
  attempt(l, 'acct:a', '10.0.0.1')
  const inFlight = [l.begin('acct:a', '10.0.0.1'), l.begin('acct:a', '10.0.0.1'), l.begin('acct:a', '10.0.0.1')]
  t.true(inFlight.every((a) => a.allowed))
  t.deepEqual(inFlight.map(delayOf), [0, 100, 200], 'each is delayed as if the ones before it had failed')
  const fourth = l.begin('acct:a', '10.0.0.1')
  t.false(fourth.allowed)
  if (!fourth.allowed) t.is(fourth.retryAfterMs, LIMITS.maxDelayMs, 'told to come back once the tries in flight are settled')
  // once they settle as failures, the address is locked out of the account
  for (const a of inFlight) if (a.allowed) a.settle('failed')
  const locked = l.begin('acct:a', '10.0.0.1')
  t.false(locked.allowed)
  if (!locked.allowed) t.is(locked.retryAfterMs, LIMITS.lockMs)
})

test('a try settled as uncounted leaves no trace, and settling twice counts once', (t) => {
  const {l} = limiter()
  for (let i = 0; i < 10; i++) attempt(l, 'acct:a', '10.0.0.1', 'uncounted')
  t.is(delayOf(l.begin('acct:a', '10.0.0.3')), 0)
  for (const a of [l.begin('acct:b', '10.0.0.1'), l.begin('acct:b', '10.0.0.1')]) if (a.allowed) for (let i = 0; i < 10; i++) a.settle('failed')
  t.is(delayOf(l.begin('acct:b', '10.0.0.2')), 100, 'two failures, not twenty')
})

test('success forgets that address\'s failures for the account, not the address\'s own count', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) attempt(l, 'acct:a', '10.0.0.1')
  attempt(l, 'acct:a', '10.0.0.1', 'succeeded')
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) t.true(attempt(l, 'acct:a', '10.0.0.1').allowed, 'the account is open to the address again')
  // the address has failed 6 times in all, which is its own limit
  t.false(l.begin('acct:other', '10.0.0.1').allowed)
})

test('a lock ends after lockMs, and failures older than the window are forgotten', (t) => {
  const {l, clock} = limiter()
  for (let i = 0; i < LIMITS.lockAfter; i++) attempt(l, 'acct:a', '10.0.0.1')
  clock.now += LIMITS.lockMs - 1
  t.false(l.begin('acct:a', '10.0.0.1').allowed)
  clock.now += 1 + LIMITS.windowMs
  t.is(delayOf(l.begin('acct:a', '10.0.0.1')), 0)

  attempt(l, 'acct:b', '10.0.0.2')
  attempt(l, 'acct:b', '10.0.0.2')
  t.is(delayOf(l.begin('acct:b', '10.0.0.3')), 100)
  clock.now += LIMITS.windowMs + 1
  t.is(delayOf(l.begin('acct:b', '10.0.0.3')), 0)
})

test('an IPv4-mapped IPv6 address counts as the IPv4 address', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.lockAfter; i++) attempt(l, 'acct:a', '::ffff:10.0.0.1')
  t.false(l.begin('acct:a', '10.0.0.1').allowed)
})

test('IPv6 addresses count per /64, the block one client holds, so stepping through it does not reset the lock', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.lockAfter; i++) attempt(l, 'acct:a', `2001:db8:1:2::${i + 1}`)
  t.false(l.begin('acct:a', '2001:db8:1:2:ffff:1:2:3').allowed)
  t.false(l.begin('acct:a', '2001:0DB8:1:2::99').allowed, 'written differently, the same block')
  t.true(l.begin('acct:a', '2001:db8:1:3::1').allowed, 'the next /64 is another client')
})
