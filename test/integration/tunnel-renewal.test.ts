import {X509Certificate} from 'node:crypto'
import test from 'ava'
import {startLoad} from '../helpers/load.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {probeTunnel} from '../helpers/tls.js'
import {startWarpgate, warpgateEvent} from '../helpers/tunnel.js'

test('renews the client certificate before it expires, on a new key, without failing a request', async (t) => {
  const platform = await startTestPlatform(t, {warpgateCertTtlMs: 6000})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  // The load runs unpaced from one address: above the default 6000/min the edge would answer 429.
  await addRoute(platform, {...scope, hostname: 'renew.mezu.localhost', service: 'renew', rateLimitPerMinute: 1_000_000})
  const {wg, warpgateId} = await startWarpgate(t, platform, scope, 'renew', origin.url)
  const first = wg.credentials!
  const firstCert = new X509Certificate(first.certPem)
  t.true(firstCert.subjectAltName?.includes(`URI:urn:mezu:warpgate:${warpgateId}`))
  t.true(firstCert.checkIssued(new X509Certificate(platform.caPem)))
  t.true(Math.abs(Date.parse(firstCert.validTo) - Date.parse(firstCert.validFrom) - 66_000) <= 1000, 'lifetime = TTL (+ 60 s backdating for clock skew)')

  const load = startLoad(platform, 'renew.mezu.localhost', ['/hello'], 2)
  await warpgateEvent(wg, (e) => e.type === 'renewed', 'the first renewal', 15_000)
  await warpgateEvent(wg, (e) => e.type === 'renewed', 'the second renewal', 15_000)
  const outcomes = await load.stop()

  const renewed = wg.credentials!
  t.not(renewed.certPem, first.certPem)
  t.not(renewed.keyPem, first.keyPem, 'each renewal uses a new key')
  t.true(renewed.expiresAt > first.expiresAt)
  t.true(new X509Certificate(renewed.certPem).subjectAltName?.includes(warpgateId))
  t.deepEqual(outcomes.filter((o) => o.status !== 200), [])
  t.true(outcomes.length > 0)
  const probe = await probeTunnel(platform.ports.tunnel!, platform.caPem, {cert: renewed.certPem, key: renewed.keyPem})
  t.true(probe.accepted, 'the renewed certificate opens new tunnel connections')
})
