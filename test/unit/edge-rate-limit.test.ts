import test from 'ava'
import {RateLimiter} from '../../platform/edge/rate-limit.js'

test('lets a minute\'s allowance through, then refuses with a Retry-After', (t) => {
  let now = 1_000_000
  const rl = new RateLimiter(() => now)
  for (let i = 0; i < 3; i++) t.deepEqual(rl.take('rte_a', '1.1.1.1', 3), {allowed: true})
  const v = rl.take('rte_a', '1.1.1.1', 3)
  t.false(v.allowed)
  if (!v.allowed) t.is(v.retryAfterSeconds, 20)
  now += 20_000
  t.deepEqual(rl.take('rte_a', '1.1.1.1', 3), {allowed: true})
})

test('counts each client IP and each route separately', (t) => {
  const now = 5
  const rl = new RateLimiter(() => now)
  t.true(rl.take('rte_a', '1.1.1.1', 1).allowed)
  t.false(rl.take('rte_a', '1.1.1.1', 1).allowed)
  t.true(rl.take('rte_a', '2.2.2.2', 1).allowed)
  t.true(rl.take('rte_b', '1.1.1.1', 1).allowed)
})
