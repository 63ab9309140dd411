import {setTimeout as delay} from 'node:timers/promises'
import test from 'ava'
import pino from 'pino'
import {buildAcmeConfig} from '../../platform/acme-config.js'
import {AcmeManager} from '../../platform/control/acme/manager.js'
import {AcmeHttpListener} from '../../platform/edge/acme-http.js'
import type {AcmeCertificateStatus} from '../../src/lib/api-types/index.js'
import {ManualClock} from '../helpers/clock.js'
import {freePort, pebbleMissing, startPebble} from '../helpers/pebble.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'

const DOMAIN = 'pebble.test'
const OK = `ok.${DOMAIN}`
const UNREACHABLE = `unreachable.${DOMAIN}`
const missing = pebbleMissing()

/** Real orders against pebble; only the manager's timers run on a manual clock. */
;(missing ? test.skip : test)('renewal and retries follow the clock: renew at two thirds, retry after 1, 2, 4 min, alternating challenge types', async (t) => {
  const ports = {edge: await freePort(), http: await freePort()}
  const pebble = await startPebble(t, {httpPort: ports.http, tlsPort: ports.edge, validitySeconds: 3600})
  await pebble.addA(UNREACHABLE, '127.0.0.2')
  // A platform without ACME: its sealed store and its edge snapshot (the routes) are what the manager uses.
  const platform = await startTestPlatform(t, {domain: DOMAIN})
  const {projectId, environmentId} = await addProjectEnv(platform)
  await addRoute(platform, {projectId, environmentId, hostname: OK, service: 'ok'})
  await addRoute(platform, {projectId, environmentId, hostname: UNREACHABLE, service: 'gone'})
  // ACME off: the routes API shows no acme field.
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const plain = await api(platform.apiUrl, platform.caPem, 'GET', `/v1/routes/${OK}`, {token})
  t.is(plain.status, 200)
  t.false('acme' in plain.body)
  const clock = new ManualClock(Date.now())
  const config = buildAcmeConfig({email: 'ops@pebble.test', directoryUrl: pebble.directoryUrl, httpPort: ports.http, caFile: pebble.caFile, challenges: ['http-01', 'tls-alpn-01']}, DOMAIN)
  const manager = new AcmeManager({config, cdb: platform.ctx.cdb, source: platform.edgeSource, authHost: `auth.${DOMAIN}`, log: pino({level: 'silent'}), clock})
  const http = new AcmeHttpListener({host: '127.0.0.1', port: ports.http, keyAuthorization: (token) => manager.keyAuthorization(token), httpsPort: () => 443})
  await http.listen()
  t.teardown(() => http.close())
  t.teardown(() => manager.stop())
  await manager.start()
  t.is(manager.status(OK)?.status, 'pending')

  const settle = async (host: string, done: (s: AcmeCertificateStatus) => boolean): Promise<AcmeCertificateStatus> => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const s = manager.status(host)!
      if (done(s)) return s
      if (Date.now() > deadline) throw new Error(`${host}: ${JSON.stringify(s)}`)
      await delay(100)
    }
  }
  clock.advance(0)
  const issued = await settle(OK, (s) => s.status === 'valid')
  t.is(issued.challenge, 'http-01')
  const lifetime = Date.parse(issued.expiresAt!) - Date.parse(issued.issuedAt!)
  t.is(Date.parse(issued.nextAttemptAt!), Date.parse(issued.issuedAt!) + Math.floor(lifetime * 2 / 3))

  const minute = 60_000
  const expected: Array<[string, number]> = [['http-01', minute], ['tls-alpn-01', 2 * minute], ['http-01', 4 * minute]]
  for (const [i, [challenge, wait]] of expected.entries()) {
    const failed = await settle(UNREACHABLE, (s) => s.status === 'failed' && s.challenge === challenge && s.nextAttemptAt !== null)
    t.regex(failed.reason!, new RegExp(`^${challenge} validation of ${UNREACHABLE.replace(/\./g, '\\.')} failed: `), `attempt ${i + 1}`)
    t.is(Date.parse(failed.nextAttemptAt!), clock.now() + wait, `attempt ${i + 1} waits ${wait / minute} min`)
    clock.advance(wait - 1)
    t.is(manager.status(UNREACHABLE)?.status, 'failed', 'nothing happens before the retry time')
    clock.advance(1)
  }

  // Renewal: at two thirds of the lifetime, a new certificate replaces the old one.
  const before = manager.resolve(OK)
  t.truthy(before)
  clock.advance(Date.parse(issued.nextAttemptAt!) - clock.now())
  const renewed = await settle(OK, (s) => s.status === 'valid' && s.issuedAt !== issued.issuedAt)
  t.true(Date.parse(renewed.expiresAt!) > Date.parse(issued.expiresAt!))
  t.not(manager.resolve(OK), before, 'the edge gets the new certificate')

  // A hostname no longer routed is dropped.
  const route = platform.edgeSource.get().routes.find((r) => r.hostname === OK)!
  await platform.ctx.cdb.db.deleteFrom('routes').where('id', '=', route.id).execute()
  await platform.edgeSource.refresh()
  t.is(manager.status(OK), undefined)
  t.is(manager.resolve(OK), undefined)
})
