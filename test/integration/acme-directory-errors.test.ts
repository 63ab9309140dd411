import {setTimeout as delay} from 'node:timers/promises'
import test, {type ExecutionContext} from 'ava'
import * as acme from 'acme-client'
import pino from 'pino'
import {buildAcmeConfig} from '../../platform/acme-config.js'
import {AcmeManager} from '../../platform/control/acme/manager.js'
import type {AcmeCertificateStatus} from '../../src/lib/api-types/index.js'
import {ManualClock} from '../helpers/clock.js'
import {freePort, pebbleMissing, startPebble} from '../helpers/pebble.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'

const DOMAIN = 'pebble.test'
const AUTH = `auth.${DOMAIN}`
// acme-client retries a failed request 5 times, 5 to 25 s apart; this worker's copy retries at once.
;(acme.axios.defaults as unknown as {acmeSettings: {retryDefaultDelay: number}}).acmeSettings.retryDefaultDelay = 0.01

async function failedStatus(t: ExecutionContext, platform: TestPlatform, directoryUrl: string, caFile?: string): Promise<AcmeCertificateStatus> {
  const config = buildAcmeConfig({email: 'ops@pebble.test', directoryUrl, caFile}, DOMAIN)
  const clock = new ManualClock(Date.now())
  const manager = new AcmeManager({config, cdb: platform.ctx.cdb, source: platform.edgeSource, authHost: AUTH, log: pino({level: 'silent'}), clock})
  t.teardown(() => manager.stop())
  await manager.start()
  clock.advance(0)
  const deadline = Date.now() + 30_000
  for (;;) {
    const s = manager.status(AUTH)!
    if (s.status === 'failed') return s
    if (Date.now() > deadline) throw new Error(JSON.stringify(s))
    await delay(100)
  }
}

test('a CA that cannot be reached is named in the status with the connection error', async (t) => {
  const platform = await startTestPlatform(t, {domain: DOMAIN})
  const directoryUrl = `https://127.0.0.1:${await freePort()}/dir`
  const s = await failedStatus(t, platform, directoryUrl)
  t.log(s.reason)
  t.regex(s.reason!, /^cannot reach the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir: connect ECONNREFUSED 127\.0\.0\.1:\d+$/)
  t.truthy(s.nextAttemptAt)
})

;(pebbleMissing() ? test.skip : test)('the directory\'s certificate is verified: without --acme-ca-file pebble\'s test CA is refused', async (t) => {
  const pebble = await startPebble(t, {httpPort: await freePort(), tlsPort: await freePort()})
  const platform = await startTestPlatform(t, {domain: DOMAIN})
  const s = await failedStatus(t, platform, pebble.directoryUrl)
  t.log(s.reason)
  t.regex(s.reason!, /^cannot reach the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir: .*certificate/)
})
