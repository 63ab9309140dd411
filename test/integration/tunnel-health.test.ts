import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

test('an unhealthy replica gets no requests until it reports healthy again, and the API shows it', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const a = await startOrigin(t, 'a')
  const b = await startOrigin(t, 'b')
  await addRoute(platform, {...scope, hostname: 'hc.mezu.localhost', service: 'hc'})
  const {wg: wgA, warpgateId: idA} = await startWarpgate(t, platform, scope, 'hc', a.url)
  const {wg: wgB} = await startWarpgate(t, platform, scope, 'hc', b.url)
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const status = async () => (await api(platform.apiUrl, platform.caPem, 'GET', `/v1/warpgates/${idA}`, {token})).body
  const until = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 10_000
    while (!(await check())) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
  }
  const bodies = async (n: number) => {
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push((await edgeRequest(platform, 'hc.mezu.localhost', '/hello')).text)
    return out
  }

  wgA.setHealth(false, 'GET /healthz → 500')
  await until(async () => (await status()).healthy === false, 'the edge to mark replica a unhealthy')
  t.is((await status()).status, 'connected')
  t.deepEqual([...new Set(await bodies(12))], ['hello from b\n'], 'no request reaches the unhealthy replica')

  wgA.setHealth(true)
  await until(async () => (await status()).healthy === true, 'replica a to be healthy again')
  t.deepEqual([...new Set(await bodies(12))].sort(), ['hello from a\n', 'hello from b\n'])

  // Both unhealthy: nothing can take the request, which is the offline answer.
  wgA.setHealth(false)
  wgB.setHealth(false)
  await until(async () => (await status()).healthy === false, 'replica a unhealthy')
  const deadline = Date.now() + 10_000
  let r = await edgeRequest(platform, 'hc.mezu.localhost', '/hello')
  while (r.status === 200 && Date.now() < deadline) r = await edgeRequest(platform, 'hc.mezu.localhost', '/hello')
  t.is(r.status, 503)
})
