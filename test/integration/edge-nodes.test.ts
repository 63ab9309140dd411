import {setTimeout as delay} from 'node:timers/promises'
import test, {type ExecutionContext} from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {AuthBrowser, formField} from '../helpers/auth-browser.js'
import {mezu, WARPGATE_BIN} from '../helpers/cli.js'
import {createEdge, type EdgeNodeProcess, startEdgeNode} from '../helpers/edge-node.js'
import {startLoad} from '../helpers/load.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, type TestPlatform, tempDir} from '../helpers/platform.js'
import {type PlatformProcess, publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {testStoreLocation} from '../helpers/store-engine.js'
import {edgeRequest, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// Control plane, edge nodes and a Warpgate as separate real processes (issue 12). With
// MEZU_TEST_STORE=postgres the control plane keeps its stores on PostgreSQL.

interface Cluster {
  control: PlatformProcess
  /** the control plane's command-line arguments, to start it again on the same stores */
  controlArgs: string[]
  owner: string
  edges: EdgeNodeProcess[]
  dirs: string[]
}

async function startCluster(t: ExecutionContext, edgeCount: number, controlArgs: string[] = []): Promise<Cluster> {
  // each call gives a new PostgreSQL database: a restart must reuse these arguments
  const store = await testStoreLocation()
  const args = ['--role', 'control', ...(store ? ['--store', store.url] : []), ...controlArgs]
  const control = await startPlatformProcess(t, tempDir(t), undefined, {args})
  const {apiUrl} = control.summary
  const owner = await loginToken(apiUrl, control.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const edges: EdgeNodeProcess[] = []
  const dirs: string[] = []
  for (let i = 0; i < edgeCount; i++) {
    const {joinToken} = await createEdge(apiUrl, control.caPem, owner, `edge-${i}`)
    const dir = tempDir(t)
    dirs.push(dir)
    edges.push(await startEdgeNode(t, dir, apiUrl, control.caPem, {joinToken}))
  }
  return {control, controlArgs: args, owner, edges, dirs}
}

async function publish(t: ExecutionContext, c: Cluster, name: string) {
  const host = `${name}.${c.control.summary.domain}`
  const {token} = await publishThroughApi(c.control, host, name)
  const origin = await startOrigin(t)
  const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: c.control.summary.apiUrl, MEZU_CA_FILE: c.control.summary.caPath}
  // one connection per edge
  const wg = await startTunnelCli(t, [String(origin.port)], env, 1, [WARPGATE_BIN])
  await wg.waitForEvent((e) => e.type === 'connected' && e.connections >= c.edges.length, `a connection to each of ${c.edges.length} edges`)
  for (const e of c.edges) await waitUntilServed(e.address, host)
  return {host, wg}
}

async function call(c: Cluster, method: string, path: string, body?: unknown, want = 201) {
  const r = await api(c.control.summary.apiUrl, c.control.caPem, method, path, {token: c.owner, body})
  if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${r.text}`)
  return r.body
}

test('two edge nodes serve one Warpgate; SIGKILL of one under load costs the other nothing; it returns with its connections and the routes made while it was down', async (t) => {
  const c = await startCluster(t, 2)
  const [a, b] = c.edges
  const {host, wg} = await publish(t, c, 'hello')
  t.is((await edgeRequest(a.address, host, '/hello')).status, 200)
  t.is((await edgeRequest(b.address, host, '/hello')).status, 200)
  const list = await call(c, 'GET', '/v1/edges', undefined, 200)
  t.deepEqual(list.items.map((e: {status: string}) => e.status), ['connected', 'connected'])
  t.true(list.items.every((e: {warpgateConnections: number}) => e.warpgateConnections === 1), JSON.stringify(list.items))
  // the control plane sees the whole platform: the Warpgate's connections at both edges, both edges' requests
  const wgs = await call(c, 'GET', '/v1/warpgates', undefined, 200)
  t.is(wgs.items[0].connections, 2, JSON.stringify(wgs.items[0]))
  // waitUntilServed asked each edge at least once too: at least the two requests above and those
  let logged: Array<{host: string; path: string}> = []
  for (let i = 0; i < 50 && logged.length < 4; i++) {
    logged = (await call(c, 'GET', '/v1/logs?limit=1000', undefined, 200)).items.filter((e: {host: string}) => e.host.startsWith(host))
    if (logged.length < 4) await delay(100)
  }
  t.true(logged.length >= 4, `requests through both edges in the control plane's log: ${JSON.stringify(logged)}`)

  const load = startLoad(b.address as unknown as TestPlatform, host, ['/hello', '/headers'], 4)
  await delay(500)
  const killedAt = wg.events.length
  await a.kill('SIGKILL')
  await wg.waitForEvent((e) => e.type === 'disconnected' && wg.events.indexOf(e) >= killedAt, 'the connection to the killed edge lost')
  // a route created while edge A is down
  const later = `later.${c.control.summary.domain}`
  await call(c, 'POST', '/v1/routes', {project: 'p-hello', env: 'prod', hostname: later, service: 'hello', policy: 'open'})
  await waitUntilServed(b.address, later)
  await delay(1000)
  const outcomes = await load.stop()
  t.true(outcomes.length > 20, `${outcomes.length} requests`)
  t.deepEqual(outcomes.filter((o) => o.status !== 200).map((o) => `${o.status}: ${o.body.slice(0, 100)}`), [], 'no request through the surviving edge failed')

  const again = await startEdgeNode(t, c.dirs[0], c.control.summary.apiUrl, c.control.caPem, {ports: a.summary.ports})
  t.is(again.summary.edgeId, a.summary.edgeId, 'the same enrolment, no join token needed')
  await waitUntilServed(again.address, later)
  await wg.waitForEvent((e) => e.type === 'connected' && e.connections >= 2 && wg.events.indexOf(e) > killedAt, 'the Warpgate back on the returned edge', 30_000)
  t.is((await edgeRequest(again.address, host, '/hello')).status, 200)
})

test('a session made at one edge works at the other; a login started at one edge finishes at the other; logout at one is refused at the other within a second', async (t) => {
  const c = await startCluster(t, 2)
  const [a, b] = c.edges
  const {host} = await publish(t, c, 'hello')
  // a route that needs a signed-in user
  const privateHost = `private.${c.control.summary.domain}`
  await call(c, 'POST', '/v1/routes', {project: 'p-hello', env: 'prod', hostname: privateHost, service: 'hello'})
  await waitUntilServed(b.address, privateHost).catch(() => {})
  t.is((await edgeRequest(b.address, privateHost, '/')).status, 302, 'anonymous is sent to login')

  const browser = new AuthBrowser(a.address as unknown as TestPlatform)
  const back = `https://${privateHost}:${a.summary.ports.edge}/after`
  const signedIn = await browser.signIn(ADMIN_EMAIL, ADMIN_PASSWORD, back)
  const callback = new URL(String(signedIn.headers.location))
  t.is(callback.pathname, '/.mezu/callback')
  // the callback lands on the other edge (DNS sent the browser there)
  const landed = await edgeRequest(b.address, privateHost, callback.pathname + callback.search)
  t.is(landed.status, 303, landed.text)
  const cookie = String(landed.headers['set-cookie']).split(';')[0]
  t.regex(cookie, /=mezu_sess_/)
  const atB = await edgeRequest(b.address, privateHost, '/headers', {headers: {cookie}})
  t.is(atB.status, 200, atB.text)
  t.is((await edgeRequest(a.address, privateHost, '/headers', {headers: {cookie}})).status, 200)
  t.is((await edgeRequest(b.address, privateHost, callback.pathname + callback.search)).status, 400, 'the code works once, across edges')

  // sign out at A: the session cookie on the auth host is the same token
  const form = await browser.get('/logout')
  const out = await browser.post('/logout', {csrf: formField(form.text, 'csrf') ?? ''})
  t.true([200, 303].includes(out.status), out.text.slice(0, 200))
  const deadline = Date.now() + 1000
  let refused = false
  while (Date.now() < deadline + 500 && !refused) {
    refused = (await edgeRequest(b.address, privateHost, '/headers', {headers: {cookie}})).status !== 200
    if (!refused) await delay(50)
  }
  t.true(refused, 'the session ended at edge B within about a second')
  t.is((await edgeRequest(b.address, host, '/hello')).status, 200)
})

test('mezu edges revoke stops an edge: its channel closes, it stops serving and exits, and it cannot come back', async (t) => {
  const c = await startCluster(t, 1)
  const [a] = c.edges
  // `mezu platform status` tells an edge node's directory from a control plane's
  const status = async (dir: string) => {
    const r = await mezu(['platform', 'status', '--data-dir', dir, '--json'])
    if (r.code !== 0) throw new Error(r.stderr)
    return r.json()
  }
  const running = await status(c.dirs[0])
  t.like(running, {role: 'edge', initialized: true, running: true, pid: a.child.pid, edgeId: a.summary.edgeId, controlUrl: c.control.summary.apiUrl, edgeUrl: a.summary.edgeUrl, apiUrl: null})
  t.like(await status(c.control.summary.dataDir), {role: 'control', running: true, edgeId: null})

  await call(c, 'POST', `/v1/edges/${a.summary.edgeId}/revoke`, undefined, 200)
  const code = await Promise.race([a.exited, delay(5000).then(() => 'still running')])
  t.is(code, 1, a.stderr())
  t.regex(a.stderr(), /revoked/)
  t.like(await status(c.dirs[0]), {role: 'edge', running: false, pid: null})
  const again = await startEdgeNode(t, c.dirs[0], c.control.summary.apiUrl, c.control.caPem).then(() => 'started', (e: Error) => e.message)
  t.regex(again, /refused this edge/)
})

test('an edge revoked while it was away is refused when it reconnects, and stops serving', async (t) => {
  const c = await startCluster(t, 1)
  const [a] = c.edges
  const {host} = await publish(t, c, 'hello')
  // frozen, the edge cannot hear the revocation; the control plane restarts meanwhile, so the old channel is gone
  a.child.kill('SIGSTOP')
  const apiPort = Number(new URL(c.control.summary.apiUrl).port)
  await c.control.kill('SIGKILL')
  const back = await startPlatformProcess(t, c.control.summary.dataDir, {api: apiPort, edge: 0, tunnel: 0}, {args: c.controlArgs})
  const owner = await loginToken(back.summary.apiUrl, back.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const r = await api(back.summary.apiUrl, back.caPem, 'POST', `/v1/edges/${a.summary.edgeId}/revoke`, {token: owner})
  t.is(r.status, 200, r.text)
  a.child.kill('SIGCONT')
  const code = await Promise.race([a.exited, delay(20_000).then(() => 'still running')])
  t.is(code, 1, a.stderr())
  t.regex(a.stderr(), /refused this edge/)
  t.is(await edgeRequest(a.address, host, '/hello').then(() => 'answered', () => 'refused'), 'refused', 'it no longer serves')
})

test('an edge keeps serving its last snapshot while the control plane is down, says so on /readyz, and catches up when it returns', async (t) => {
  const store = await testStoreLocation()
  const controlDir = tempDir(t)
  const controlArgs = ['--role', 'control', ...(store ? ['--store', store.url] : [])]
  const control = await startPlatformProcess(t, controlDir, undefined, {args: controlArgs})
  const owner = await loginToken(control.summary.apiUrl, control.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const c: Cluster = {control, controlArgs, owner, edges: [], dirs: [tempDir(t)]}
  const {joinToken} = await createEdge(control.summary.apiUrl, control.caPem, owner, 'edge-0')
  const edge = await startEdgeNode(t, c.dirs[0], control.summary.apiUrl, control.caPem, {joinToken, args: ['--metrics-addr', '127.0.0.1:0']})
  c.edges.push(edge)
  const {host} = await publish(t, c, 'hello')
  const readyz = async () => {
    const r = await fetch(new URL('/readyz', edge.summary.metricsUrl!))
    return {status: r.status, body: await r.json() as {failing: string[]; checks: Record<string, {message?: string}>}}
  }
  t.is((await readyz()).status, 200)

  await control.kill('SIGKILL')
  let report = await readyz()
  for (let i = 0; i < 100 && report.status === 200; i++) {
    await delay(100)
    report = await readyz()
  }
  t.is(report.status, 503)
  t.deepEqual(report.body.failing, ['control-channel'])
  t.regex(report.body.checks['control-channel'].message ?? '', /unreachable/)
  for (let i = 0; i < 5; i++) {
    const r = await edgeRequest(edge.address, host, '/hello')
    t.is(r.status, 200, `served from the last snapshot: ${r.text.slice(0, 300)}`)
  }
  // signing in needs the control plane: a clear, retryable refusal, not a server error
  const browser = new AuthBrowser(edge.address as unknown as TestPlatform)
  const form = await browser.get('/login')
  t.is(form.status, 200)
  const tried = await browser.post('/login', {csrf: formField(form.text, 'csrf') ?? '', return: '', email: ADMIN_EMAIL, password: ADMIN_PASSWORD})
  t.is(tried.status, 503, tried.text)
  t.is(tried.headers['retry-after'], '5')
  t.regex(tried.text, /cannot reach the control plane/)

  const back = await startPlatformProcess(t, controlDir, {api: Number(new URL(control.summary.apiUrl).port), edge: 0, tunnel: 0}, {args: controlArgs})
  for (let i = 0; i < 150 && report.status !== 200; i++) {
    await delay(100)
    report = await readyz()
  }
  t.is(report.status, 200, JSON.stringify(report.body))
  const backOwner = await loginToken(back.summary.apiUrl, back.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const now = `now.${control.summary.domain}`
  const r = await api(back.summary.apiUrl, back.caPem, 'POST', '/v1/routes', {token: backOwner, body: {project: 'p-hello', env: 'prod', hostname: now, service: 'hello', policy: 'open'}})
  t.is(r.status, 201, r.text)
  await waitUntilServed(edge.address, now)
  t.pass()
})
