import http2 from 'node:http2'
import https from 'node:https'
import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

const limits = {...buildConfig({dataDir: '/unused'}).edge, requestTimeoutMs: 1500}

test('answers each failure with its own status and an edge error page: 404, 503, 502 lost, 502 not answering, 504', async (t) => {
  const platform = await startTestPlatform(t, {edge: limits})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const gone = await startOrigin(t, 'gone')
  await gone.close()
  await addRoute(platform, {...scope, hostname: 'up.mezu.localhost', service: 'up'})
  await addRoute(platform, {...scope, hostname: 'offline.mezu.localhost', service: 'offline'})
  await addRoute(platform, {...scope, hostname: 'dead.mezu.localhost', service: 'dead'})
  await addRoute(platform, {...scope, hostname: 'lost.mezu.localhost', service: 'lost'})
  await startWarpgate(t, platform, scope, 'up', origin.url)
  await startWarpgate(t, platform, scope, 'dead', gone.url)
  const {wg: lost} = await startWarpgate(t, platform, scope, 'lost', origin.url)

  const unknown = await edgeRequest(platform, 'nobody.mezu.localhost', '/', {headers: {accept: 'text/html'}})
  t.is(unknown.status, 404)
  t.is(unknown.headers['mezu-edge-error'], 'unknown_host')
  t.regex(String(unknown.headers['content-type']), /text\/html/)

  const offline = await edgeRequest(platform, 'offline.mezu.localhost', '/', {headers: {accept: 'application/json'}})
  t.is(offline.status, 503)
  t.is(JSON.parse(offline.text).error.code, 'service_offline')
  t.regex(JSON.parse(offline.text).error.message, /offline/)

  const notAnswering = await edgeRequest(platform, 'dead.mezu.localhost', '/hello')
  t.is(notAnswering.status, 502)
  t.is(notAnswering.headers['mezu-edge-error'], 'origin_unreachable')

  const timeout = await edgeRequest(platform, 'up.mezu.localhost', '/hang')
  t.is(timeout.status, 504)
  t.is(timeout.headers['mezu-edge-error'], 'timeout')

  // The Warpgate goes away while the request waits for the origin.
  const pending = edgeRequest(platform, 'lost.mezu.localhost', '/slow?ms=60000')
  await waitUntil(() => origin.seen.some((s) => s.url === '/slow?ms=60000'), 'the origin to see the slow request')
  await lost.stop()
  const lostResponse = await pending
  t.is(lostResponse.status, 502)
  t.is(lostResponse.headers['mezu-edge-error'], 'warpgate_lost')

  // And the healthy route still works beside all that.
  t.is((await edgeRequest(platform, 'up.mezu.localhost', '/hello')).status, 200)
})

async function waitUntil(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('an end user who leaves mid-request cancels the origin request, over HTTP/1.1 and HTTP/2, and the edge keeps serving', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'leave.mezu.localhost', service: 'leave'})
  await startWarpgate(t, platform, scope, 'leave', origin.url)

  const h1 = https.request({host: '127.0.0.1', port: platform.ports.edge!, servername: 'leave.mezu.localhost', path: '/hang?v=1', ca: platform.caPem, headers: {host: 'leave.mezu.localhost'}, agent: false})
  h1.on('error', () => {})
  h1.end()
  await waitUntil(() => origin.seen.some((s) => s.url === '/hang?v=1'), 'the origin to see the HTTP/1.1 request')
  h1.destroy()
  await waitUntil(() => origin.cancelled.includes('/hang?v=1'), 'the HTTP/1.1 cancel to reach the origin')

  const client = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: 'leave.mezu.localhost'})
  t.teardown(() => client.destroy())
  const h2 = client.request({':path': '/hang?v=2', ':authority': 'leave.mezu.localhost'})
  h2.on('error', () => {})
  await waitUntil(() => origin.seen.some((s) => s.url === '/hang?v=2'), 'the origin to see the HTTP/2 request')
  h2.close(http2.constants.NGHTTP2_CANCEL)
  await waitUntil(() => origin.cancelled.includes('/hang?v=2'), 'the HTTP/2 cancel to reach the origin')

  t.is((await edgeRequest(platform, 'leave.mezu.localhost', '/hello')).status, 200)
})
