import {join} from 'node:path'
import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import type {Gate, RequestLogEntry} from '../../platform/edge/pipeline.js'
import {startPlatform} from '../../platform/server.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, tempDir, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

test('runs route → gate → forward: the gate can answer itself or add headers, and every request is appended to the request log', async (t) => {
  const entries: RequestLogEntry[] = []
  const gateCalls: string[] = []
  const gate: Gate = async (req, route) => {
    gateCalls.push(`${route.hostname}${req.path}`)
    if (req.path === '/forbidden') return {action: 'respond', status: 403, headers: {'content-type': 'text/plain'}, body: 'no\n'}
    return {action: 'forward', setHeaders: {'Mezu-User-Email': 'ada@example.test'}}
  }
  const dir = tempDir(t)
  const config = buildConfig({dataDir: join(dir, 'data'), apiPort: 0, edgePort: 0, tunnelPort: 0})
  const running = await startPlatform(config, {adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD, edge: {gate, requestLog: {append: (e) => entries.push(e)}}})
  t.teardown(() => running.stop())
  const platform = Object.assign(running, {dir, config, restart: async () => platform}) as TestPlatform
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'gate.mezu.localhost', service: 'gate'})
  await startWarpgate(t, platform, scope, 'gate', origin.url)

  const refused = await edgeRequest(platform, 'gate.mezu.localhost', '/forbidden')
  t.is(refused.status, 403)
  t.is(refused.text, 'no\n')
  t.false(origin.seen.some((s) => s.url === '/forbidden'), 'a request the gate answered never reaches the origin')

  const echoed = await edgeRequest(platform, 'gate.mezu.localhost', '/headers', {headers: {'mezu-user-email': 'spoof@example.test', 'Mezu-User-Id': 'usr_spoof', 'mezu_jwt_assertion': 'x'}})
  const seen = JSON.parse(echoed.text)
  t.is(seen['mezu-user-email'], 'ada@example.test', 'the gate\'s header replaces the spoofed one')
  t.is(seen['mezu-user-id'], undefined, 'a spoofed identity header is dropped even when the gate forgot to')
  t.is(seen['mezu_jwt_assertion'], undefined)

  const posted = await edgeRequest(platform, 'gate.mezu.localhost', '/sha256', {method: 'POST', body: Buffer.alloc(12345, 1)})
  t.is(posted.status, 200)
  t.is((await edgeRequest(platform, 'unknown.mezu.localhost', '/x')).status, 404)
  t.deepEqual(gateCalls, ['gate.mezu.localhost/forbidden', 'gate.mezu.localhost/headers', 'gate.mezu.localhost/sha256'], 'no route, no gate')

  const post = entries.find((e) => e.path === '/sha256')!
  t.like(post, {method: 'POST', status: 200, bytesIn: 12345, host: 'gate.mezu.localhost', clientIp: '127.0.0.1', protocol: 'http/1.1', tlsVersion: 'TLSv1.3'})
  t.true(post.bytesOut > 0)
  t.like(entries.find((e) => e.path === '/forbidden'), {status: 403})
  t.like(entries.find((e) => e.host === 'unknown.mezu.localhost'), {status: 404, routeId: null})
})
