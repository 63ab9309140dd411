import test from 'ava'
import {BodyRateWatch, type BodyRateLimits} from '../../platform/edge/body-rate.js'
import {ManualClock} from '../helpers/clock.js'

function watch(limits: Partial<BodyRateLimits>): {w: BodyRateWatch; clock: ManualClock; cut: () => number} {
  const clock = new ManualClock(0)
  let cuts = 0
  const w = new BodyRateWatch({bodyTimeoutMs: 0, minBodyBytesPerSecond: 0, bodyRateGraceMs: 0, ...limits}, () => cuts++, clock)
  return {w, clock, cut: () => cuts}
}

test('a body that stops is cut once bodyTimeoutMs has passed since its last chunk, not before', (t) => {
  const {w, clock, cut} = watch({bodyTimeoutMs: 1000})
  clock.advance(900)
  w.read(10)
  clock.advance(999)
  t.is(cut(), 0, 'each chunk restarts the wait')
  clock.advance(1)
  t.is(cut(), 1)
  clock.advance(10_000)
  t.is(cut(), 1, 'cut once')
})

test('a body trickled under the minimum rate is cut after the grace period although no gap reaches the timeout', (t) => {
  const {w, clock, cut} = watch({bodyTimeoutMs: 1000, minBodyBytesPerSecond: 100, bodyRateGraceMs: 2000})
  let sent = 0
  while (cut() === 0 && clock.now() < 60_000) {
    clock.advance(200)
    w.read(1)
    sent++
  }
  t.is(cut(), 1)
  t.true(clock.now() >= 2000 && clock.now() <= 2200, `cut at ${clock.now()} ms, after the 2000 ms grace`)
  t.true(sent >= 10)
})

test('a body above the minimum rate is never cut, and stop() ends the watch', (t) => {
  const {w, clock, cut} = watch({bodyTimeoutMs: 1000, minBodyBytesPerSecond: 100, bodyRateGraceMs: 1000})
  for (let i = 0; i < 1000; i++) {
    clock.advance(100)
    w.read(15)
  }
  t.is(cut(), 0)
  w.stop()
  clock.advance(60_000)
  t.is(cut(), 0)
  t.is(clock.pending, 0, 'no timer left behind')
})

test('time the edge holds the body back (paused by back-pressure) counts neither as a gap nor against the rate', (t) => {
  const {w, clock, cut} = watch({bodyTimeoutMs: 1000, minBodyBytesPerSecond: 100, bodyRateGraceMs: 1000})
  clock.advance(500)
  w.read(200)
  w.pause()
  clock.advance(30_000)
  t.is(cut(), 0, 'paused for 30 s')
  w.resume()
  clock.advance(900)
  t.is(cut(), 0, 'the gap is counted from the resume')
  w.read(100)
  clock.advance(500)
  t.is(cut(), 0)
  clock.advance(600)
  t.is(cut(), 1, 'a stall after resuming is still cut')
})
