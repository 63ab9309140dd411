import test from 'ava'
import WebSocket from 'ws'
import {api} from '../helpers/api.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {logEntry, logsWorld, ringOf} from '../helpers/request-log.js'

/** Opens the follow stream; resolves with the socket, or with the HTTP status and body it was refused with. */
function open(platform: TestPlatform, query: string, token?: string): Promise<{ws?: WebSocket; status?: number; body?: any}> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${platform.apiUrl.replace('https:', 'wss:')}/v1/logs/follow${query}`, {ca: platform.caPem, headers: token ? {authorization: `Bearer ${token}`} : {}})
    ws.on('open', () => resolve({ws}))
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({status: res.statusCode, body: JSON.parse(text)}))
    })
    ws.on('error', reject)
  })
}

test('GET /v1/logs refuses no token, a missing scope, an unknown field and an out-of-range limit', async (t) => {
  const platform = await startTestPlatform(t)
  const {owner, alphaNoLogs} = await logsWorld(platform)
  const get = (path: string, token?: string) => api(platform.apiUrl, platform.caPem, 'GET', path, {token})
  t.is((await get('/v1/logs')).status, 401)
  t.like((await get('/v1/logs', alphaNoLogs)).body.error, {code: 'forbidden'})
  t.like((await get('/v1/logs?since=1', owner)).body.error, {code: 'invalid_request', field: 'since'})
  t.like((await get('/v1/logs?limit=0', owner)).body.error, {code: 'invalid_request', field: 'limit'})
  t.like((await get('/v1/logs?limit=1001', owner)).body.error, {code: 'invalid_request', field: 'limit'})
  t.deepEqual((await get('/v1/logs', owner)).body, {items: []})
})

test('the follow stream refuses the handshake without a token, with a bad one, without the scope, and with bad query', async (t) => {
  const platform = await startTestPlatform(t)
  const {owner, alphaNoLogs} = await logsWorld(platform)
  const ring = ringOf(platform)
  t.like(await open(platform, ''), {status: 401, body: {error: {code: 'unauthenticated'}}})
  t.like(await open(platform, '', 'mzs_not-a-real-token-at-all'), {status: 401})
  t.like(await open(platform, '', alphaNoLogs), {status: 403, body: {error: {code: 'forbidden'}}})
  t.like(await open(platform, '?limit=5000', owner), {status: 400, body: {error: {field: 'limit'}}})
  t.like(await open(platform, '?tail=1', owner), {status: 400, body: {error: {field: 'tail'}}})
  t.like(await open(platform, '?route=ghost.mezu.localhost', owner), {status: 404})
  t.is(ring.followerCount, 0, 'no refused handshake subscribed')
})

test('other upgrade paths on the API are refused, not left hanging', async (t) => {
  const platform = await startTestPlatform(t)
  const {owner} = await logsWorld(platform)
  t.like(await open(platform, '/../../other', owner), {status: 404})
  const r = await new Promise<{status?: number}>((resolve, reject) => {
    const ws = new WebSocket(`${platform.apiUrl.replace('https:', 'wss:')}/v1/projects`, {ca: platform.caPem, headers: {authorization: `Bearer ${owner}`}})
    ws.on('unexpected-response', (_q, res) => resolve({status: res.statusCode}))
    ws.on('open', () => reject(new Error('opened')))
    ws.on('error', reject)
  })
  t.is(r.status, 404)
})

test('the follow stream sends the backlog then live entries, and stopping the platform closes it', async (t) => {
  const platform = await startTestPlatform(t)
  const {owner, a} = await logsWorld(platform)
  const ring = ringOf(platform)
  ring.append(logEntry({routeId: a.id, path: '/before'}))
  const {ws} = await open(platform, `?route=${a.hostname}&limit=5`, owner)
  const got: any[] = []
  const closed = new Promise<number>((r) => ws!.on('close', (code) => r(code)))
  const next = () => new Promise<void>((r) => ws!.once('message', (m) => (got.push(JSON.parse(String(m))), r())))
  await next()
  t.is(got[0].path, '/before')
  const live = next()
  ring.append(logEntry({routeId: a.id, path: '/after'}))
  await live
  t.is(got[1].path, '/after')
  await platform.stop()
  t.not(await closed, 1000)
  // the server side sees the close a moment after the client does
  for (let i = 0; i < 100 && ring.followerCount > 0; i++) await new Promise((r) => setTimeout(r, 20))
  t.is(ring.followerCount, 0)
})
