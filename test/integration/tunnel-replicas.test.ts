import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {startLoad} from '../helpers/load.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate, warpgateEvent} from '../helpers/tunnel.js'

async function waitForOutcomes(load: {outcomes: unknown[]}, n: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  while (load.outcomes.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${load.outcomes.length} of ${n} requests completed in time`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function liveConnections(platform: TestPlatform, token: string, id: string): Promise<number> {
  const r = await api(platform.apiUrl, platform.caPem, 'GET', `/v1/warpgates/${id}`, {token})
  return r.body.connections
}

test('spreads requests over both replicas, and when one dies only its in-flight requests fail (502) while new ones go to the other', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const a = await startOrigin(t, 'a')
  const b = await startOrigin(t, 'b')
  // The load runs unpaced from one address: above the default 6000/min the edge would answer 429.
  await addRoute(platform, {...scope, hostname: 'web.mezu.localhost', service: 'web', rateLimitPerMinute: 1_000_000})
  const {wg: wgA, warpgateId: idA} = await startWarpgate(t, platform, scope, 'web', a.url)
  await startWarpgate(t, platform, scope, 'web', b.url)
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)

  const load = startLoad(platform, 'web.mezu.localhost', ['/hello', '/slow?ms=30'], 6)
  await waitForOutcomes(load, 40)
  const served = new Set(load.outcomes.filter((o) => o.status === 200 && o.body.startsWith('hello')).map((o) => o.body))
  t.deepEqual([...served].sort(), ['hello from a\n', 'hello from b\n'], 'both replicas take requests')

  await wgA.stop() // abrupt: its sockets close with requests in flight
  const deadline = Date.now() + 10_000
  while ((await liveConnections(platform, token, idA)) > 0) {
    if (Date.now() > deadline) throw new Error('the edge did not notice the dead replica')
  }
  const noticedAt = Date.now()
  const before = load.outcomes.length
  await waitForOutcomes(load, before + 60)
  const outcomes = await load.stop()

  const failed = outcomes.filter((o) => o.status !== 200)
  t.true(failed.every((o) => o.status === 502), `failures may only be 502: ${JSON.stringify(failed.slice(0, 3))}`)
  t.true(failed.length <= 6, 'at most the requests in flight at the moment of death fail')
  const after = outcomes.filter((o) => o.startedAt > noticedAt)
  t.true(after.length >= 50)
  t.true(after.every((o) => o.status === 200), 'every request after the loss was noticed succeeds')
  t.true(after.filter((o) => o.body.startsWith('hello')).every((o) => o.body === 'hello from b\n'))
})

test('a rolling restart of two replicas under steady load fails no request', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t, 'svc')
  // The load runs unpaced from one address: above the default 6000/min the edge would answer 429.
  await addRoute(platform, {...scope, hostname: 'roll.mezu.localhost', service: 'roll', rateLimitPerMinute: 1_000_000})
  const first = await startWarpgate(t, platform, scope, 'roll', origin.url)
  const second = await startWarpgate(t, platform, scope, 'roll', origin.url)

  const load = startLoad(platform, 'roll.mezu.localhost', ['/hello', '/slow?ms=200', '/slow?ms=20'], 8)
  await waitForOutcomes(load, 30)
  for (const old of [first, second]) {
    const stopped = warpgateEvent(old.wg, (e) => e.type === 'stopped', 'drain to finish', 30_000)
    await old.wg.drain(10_000)
    await stopped
    await waitForOutcomes(load, load.outcomes.length + 20)
    await startWarpgate(t, platform, scope, 'roll', origin.url)
    await waitForOutcomes(load, load.outcomes.length + 20)
  }
  const outcomes = await load.stop()
  const failed = outcomes.filter((o) => o.status !== 200)
  t.deepEqual(failed, [], `${failed.length} of ${outcomes.length} requests failed`)
  t.true(outcomes.length >= 110)
  t.is((await edgeRequest(platform, 'roll.mezu.localhost', '/hello')).status, 200)
})
