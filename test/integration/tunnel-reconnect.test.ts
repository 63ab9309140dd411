import test from 'ava'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate, warpgateEvent} from '../helpers/tunnel.js'

test('after an edge restart the Warpgate reconnects on its own and the route serves again', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'back.mezu.localhost', service: 'back'})
  const {wg} = await startWarpgate(t, platform, scope, 'back', origin.url, {nextDelay: (attempt) => Math.min(2000, 100 * 2 ** attempt)})
  t.is((await edgeRequest(platform, 'back.mezu.localhost', '/hello')).status, 200)

  const lost = warpgateEvent(wg, (e) => e.type === 'disconnected' && e.connections === 0, 'both connections lost')
  await platform.stop()
  await lost
  const back = warpgateEvent(wg, (e) => e.type === 'connected' && e.connections === 2, 'both connections back', 30_000)
  // Same data directory and the same ports the platform bound before (the Warpgate was told this tunnel address).
  const again = await startTestPlatform(t, {apiPort: platform.ports.api, edgePort: platform.ports.edge!, tunnelPort: platform.ports.tunnel!}, platform.dir)
  await back
  const r = await edgeRequest(again, 'back.mezu.localhost', '/hello')
  t.is(r.status, 200)
  t.is(r.text, 'hello from origin\n')
})
