import test from 'ava'
import {buildConfig, ConfigError} from '../../platform/config.js'

const defaults = buildConfig({dataDir: '/unused'}).loginLimit

test('the failed-login limits default to locking an address out of an account, not the account', (t) => {
  t.deepEqual(defaults, {slowAfter: 3, lockAfter: 10, ipLockAfter: 30, windowMs: 15 * 60_000, lockMs: 15 * 60_000, delayMs: 250, maxDelayMs: 5000})
})

test('failed-login limits that cannot work are refused in one sentence naming the loginLimit setting', (t) => {
  for (const bad of [{lockAfter: 0}, {ipLockAfter: 1.5}, {slowAfter: -1}, {windowMs: 0}, {lockMs: Number.NaN}, {delayMs: -1}, {maxDelayMs: 120_000}]) {
    const e = t.throws(() => buildConfig({dataDir: '/unused', loginLimit: {...defaults, ...bad}}), {instanceOf: ConfigError}, JSON.stringify(bad))
    t.regex(e?.message ?? '', /^loginLimit\.\w+ must be /)
  }
})
