import test from 'ava'
import {bumpConfigVersion} from '../../platform/store/config/meta.js'
import {deleteRoute} from '../../platform/store/config/routes.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

test('routes by exact host, then longest path prefix on segment boundaries, after resolving dot segments', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const web = await startOrigin(t, 'web')
  const apiOrigin = await startOrigin(t, 'api')
  await addRoute(platform, {...scope, hostname: 'site.mezu.localhost', service: 'web'})
  await addRoute(platform, {...scope, hostname: 'site.mezu.localhost', pathPrefix: '/api', service: 'api'})
  await startWarpgate(t, platform, scope, 'web', web.url)
  await startWarpgate(t, platform, scope, 'api', apiOrigin.url)

  const via = async (path: string) => {
    const before = {web: web.seen.length, api: apiOrigin.seen.length}
    const r = await edgeRequest(platform, 'site.mezu.localhost', path)
    const origin = web.seen.length > before.web ? 'web' : apiOrigin.seen.length > before.api ? 'api' : 'none'
    const seenPath = origin === 'web' ? web.seen.at(-1)!.url : origin === 'api' ? apiOrigin.seen.at(-1)!.url : ''
    return {status: r.status, origin, seenPath}
  }
  t.deepEqual(await via('/hello'), {status: 200, origin: 'web', seenPath: '/hello'})
  t.deepEqual(await via('/api/hello'), {status: 404, origin: 'api', seenPath: '/api/hello'})
  t.deepEqual(await via('/api'), {status: 404, origin: 'api', seenPath: '/api'})
  t.deepEqual(await via('/apix'), {status: 404, origin: 'web', seenPath: '/apix'})
  t.deepEqual(await via('/api/../hello?x=1'), {status: 200, origin: 'web', seenPath: '/hello?x=1'}, 'dot segments cannot reach another route')
  t.is((await edgeRequest(platform, 'SITE.mezu.localhost:443', '/hello')).status, 200, 'host matching ignores case and port')
  t.is((await edgeRequest(platform, 'other.mezu.localhost', '/hello')).status, 404)
})

test('picks up a new route and forgets a deleted one without a restart', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await startWarpgate(t, platform, scope, 'late', origin.url)
  t.is((await edgeRequest(platform, 'late.mezu.localhost', '/hello')).status, 404)
  const route = await addRoute(platform, {...scope, hostname: 'late.mezu.localhost', service: 'late'})
  t.is((await edgeRequest(platform, 'late.mezu.localhost', '/hello')).status, 200)
  await deleteRoute(platform.ctx.cdb, route.id)
  await platform.ctx.feed.publish({version: await bumpConfigVersion(platform.ctx.cdb), kind: 'route', id: route.id, action: 'deleted'})
  t.is((await edgeRequest(platform, 'late.mezu.localhost', '/hello')).status, 404)
})

test('a route only reaches Warpgates of its own environment', async (t) => {
  const platform = await startTestPlatform(t)
  const prod = await addProjectEnv(platform, 'shop', 'prod')
  const origin = await startOrigin(t)
  const {environmentId: stagingId} = await addProjectEnv(platform, 'shop2', 'staging')
  await addRoute(platform, {...prod, hostname: 'shop.mezu.localhost', service: 'web'})
  await startWarpgate(t, platform, {projectId: prod.projectId, environmentId: stagingId}, 'web', origin.url)
  t.is((await edgeRequest(platform, 'shop.mezu.localhost', '/hello')).status, 503, 'a same-named service in another environment does not serve it')
})
