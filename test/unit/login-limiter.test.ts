import test from 'ava'
import {LoginLimiter} from '../../platform/control/login-limiter.js'

const LIMITS = {slowAfter: 2, lockAfter: 4, windowMs: 60_000, lockMs: 30_000, delayMs: 100}

function limiter() {
  const clock = {now: 1_000_000}
  return {clock, l: new LoginLimiter(LIMITS, () => clock.now)}
}

test('slows after slowAfter failures, growing with each, then locks at lockAfter', (t) => {
  const {l} = limiter()
  const keys = ['acct:a', 'ip:1']
  const delays: number[] = []
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) {
    const v = l.check(keys)
    t.true(v.allowed)
    if (v.allowed) delays.push(v.delayMs)
    l.fail(keys)
  }
  t.deepEqual(delays, [0, 0, 100])
  l.fail(keys)
  const locked = l.check(keys)
  t.false(locked.allowed)
  if (!locked.allowed) t.is(locked.retryAfterMs, LIMITS.lockMs)
})

test('the strictest key wins, and keys are independent', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.lockAfter; i++) l.fail(['ip:1'])
  t.false(l.check(['acct:a', 'ip:1']).allowed)
  t.true(l.check(['acct:a', 'ip:2']).allowed)
})

test('a lock ends after lockMs, and old failures leave the window', (t) => {
  const {l, clock} = limiter()
  for (let i = 0; i < LIMITS.lockAfter; i++) l.fail(['acct:a'])
  clock.now += LIMITS.lockMs - 1
  t.false(l.check(['acct:a']).allowed)
  clock.now += 1
  clock.now += LIMITS.windowMs
  t.deepEqual(l.check(['acct:a']), {allowed: true, delayMs: 0})

  l.fail(['acct:b'])
  l.fail(['acct:b'])
  t.deepEqual(l.check(['acct:b']), {allowed: true, delayMs: 100})
  clock.now += LIMITS.windowMs + 1
  t.deepEqual(l.check(['acct:b']), {allowed: true, delayMs: 0}, 'failures older than the window are forgotten')
})

test('success clears only the keys it names', (t) => {
  const {l} = limiter()
  for (let i = 0; i < LIMITS.lockAfter - 1; i++) l.fail(['acct:a', 'ip:1'])
  l.succeed(['acct:a'])
  t.deepEqual(l.check(['acct:a']), {allowed: true, delayMs: 0})
  const ip = l.check(['ip:1'])
  t.true(ip.allowed && ip.delayMs > 0)
})
