import test from 'ava'
import {ManualClock} from '../helpers/clock.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {registrationToken, warpgateEvent} from '../helpers/tunnel.js'
import {Warpgate} from '../../src/warpgate/warpgate.js'

test('reconnects with growing backoff while the edge is down and starts over after a stable connection', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'b.mezu.localhost', service: 'b'})
  const clock = new ManualClock()
  const attempts: number[] = []
  const {token} = await registrationToken(platform, scope, 'b')
  const wg = new Warpgate({apiUrl: platform.apiUrl, caPem: platform.caPem, token, originUrl: origin.url, connections: 1, clock, stableAfterMs: 5000, nextDelay: (a) => (attempts.push(a), 1000)})
  t.teardown(() => wg.stop())
  const up = warpgateEvent(wg, (e) => e.type === 'connected', 'first connection')
  await wg.start()
  await up

  const retry = () => warpgateEvent(wg, (e) => e.type === 'reconnecting', 'a reconnect to be scheduled')
  let next = retry()
  await platform.stop()
  await next
  for (let i = 0; i < 2; i++) {
    next = retry()
    clock.advance(1000) // the retry fires, finds nothing listening, schedules the next one
    await next
  }
  t.deepEqual(attempts, [0, 1, 2], 'each failure waits longer')

  const again = await startTestPlatform(t, {apiPort: platform.ports.api, edgePort: platform.ports.edge!, tunnelPort: platform.ports.tunnel!}, platform.dir)
  const back = warpgateEvent(wg, (e) => e.type === 'connected', 'reconnection')
  clock.advance(1000)
  await back
  clock.advance(6000) // the connection has now been up longer than stableAfterMs
  next = retry()
  await again.stop()
  await next
  t.deepEqual(attempts, [0, 1, 2, 0], 'a stable connection resets the backoff')
})
