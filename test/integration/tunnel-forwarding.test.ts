import test from 'ava'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

test('forwards a GET through a Warpgate and sets X-Forwarded-* while dropping spoofed identity and hop-by-hop headers', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = addProjectEnv(platform)
  const origin = await startOrigin(t)
  addRoute(platform, {...scope, hostname: 'hello.mezu.localhost', service: 'hello'})
  await startWarpgate(t, platform, scope, 'hello', origin.url)

  const hello = await edgeRequest(platform, 'hello.mezu.localhost', '/hello')
  t.is(hello.status, 200)
  t.is(hello.text, 'hello from origin\n')

  const echoed = await edgeRequest(platform, 'hello.mezu.localhost', '/headers?x=1', {
    headers: {'mezu-user-email': 'spoof@example.test', 'Mezu_User_Id': 'usr_spoof', 'x-forwarded-for': '6.6.6.6', 'keep-alive': 'timeout=5', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep-me': 'yes'},
  })
  t.is(echoed.status, 200)
  const seen = JSON.parse(echoed.text) as Record<string, string | undefined>
  t.is(seen['x-forwarded-for'], '127.0.0.1')
  t.is(seen['x-forwarded-proto'], 'https')
  t.is(seen['x-forwarded-host'], 'hello.mezu.localhost')
  t.is(seen['x-keep-me'], 'yes')
  t.is(seen['mezu-user-email'], undefined)
  t.is(seen['mezu_user_id'], undefined)
  t.is(seen['x-drop-me'], undefined)
  t.is(seen['keep-alive'], undefined)
  t.truthy(seen['mezu-request-id'])
})
