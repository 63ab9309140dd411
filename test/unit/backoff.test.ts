import test from 'ava'
import {Backoff} from '../../src/warpgate/backoff.js'
import {ManualClock} from '../helpers/clock.js'

const fixed = (v: number) => () => v

test('the ceiling doubles from base on each failure and stops at cap', (t) => {
  const b = new Backoff({baseMs: 100, capMs: 1000, stableAfterMs: 5000, random: fixed(0.999999), clock: new ManualClock()})
  const delays = Array.from({length: 7}, () => b.next())
  t.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999])
})

test('full jitter: each delay is random() times the ceiling, from 0 up to the ceiling', (t) => {
  const seq = [0, 0.5, 0.25]
  const b = new Backoff({baseMs: 100, capMs: 10_000, stableAfterMs: 1, random: () => seq.shift()!, clock: new ManualClock()})
  t.deepEqual([b.next(), b.next(), b.next()], [0, 100, 100])
})

test('a connection that stayed up for the stable period resets the backoff', (t) => {
  const clock = new ManualClock()
  const b = new Backoff({baseMs: 100, capMs: 10_000, stableAfterMs: 30_000, random: fixed(0.5), clock})
  b.next(); b.next(); b.next()
  t.is(b.failures, 3)
  b.connected()
  clock.advance(30_000)
  t.is(b.next(), 50, 'back to the first step')
  t.is(b.failures, 1)
})

test('a connection that dropped before the stable period does not reset the backoff', (t) => {
  const clock = new ManualClock()
  const b = new Backoff({baseMs: 100, capMs: 10_000, stableAfterMs: 30_000, random: fixed(0.5), clock})
  b.next(); b.next(); b.next()
  b.connected()
  clock.advance(29_999)
  t.is(b.next(), 400, 'keeps climbing')
  t.is(b.failures, 4)
})

test('a huge number of failures stays at the cap instead of overflowing', (t) => {
  const b = new Backoff({baseMs: 1, capMs: 60_000, stableAfterMs: 1, random: fixed(0.5), clock: new ManualClock()})
  for (let i = 0; i < 2000; i++) b.next()
  t.is(b.next(), 30_000)
})

test('refuses a cap below the base or a non-positive base', (t) => {
  t.throws(() => new Backoff({baseMs: 100, capMs: 50, stableAfterMs: 0}), {instanceOf: RangeError})
  t.throws(() => new Backoff({baseMs: 0, capMs: 50, stableAfterMs: 0}), {instanceOf: RangeError})
  t.throws(() => new Backoff({baseMs: 1, capMs: 50, stableAfterMs: -1}), {instanceOf: RangeError})
})
