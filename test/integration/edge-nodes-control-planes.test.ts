import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {AuthBrowser} from '../helpers/auth-browser.js'
import {WARPGATE_BIN} from '../helpers/cli.js'
import {createEdge, startEdgeNode} from '../helpers/edge-node.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, type TestPlatform, tempDir} from '../helpers/platform.js'
import {publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {postgresAvailable, startPostgres, type TestPostgres} from '../helpers/postgres.js'
import {edgeRequest, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// Two control planes on one PostgreSQL (same master key, so the same CA), each holding the channel
// of one edge node. A Warpgate registered through the first must also learn of, and connect to, the
// edge whose channel the second holds: it is told the serving edges the store has recorded, not
// only the ones connected to the process it asked. A sign-in started at one edge finishes at the
// other: its callback code is in the store, not in one control plane's memory. Real processes and a
// PostgreSQL of its own.

let pg: TestPostgres | undefined

test.before(async () => {
  if (postgresAvailable()) pg = await startPostgres()
})
test.after.always(async () => {
  await pg?.close()
})

test('a Warpgate registered at one control plane serves through an edge whose channel another control plane holds', async (t) => {
  if (!pg) return t.fail('PostgreSQL (initdb) is not installed; .ci/run installs Debian\'s postgresql')
  const store = await pg.createDatabase()
  const env = {MEZU_MASTER_KEY: `v1:${randomBytes(32).toString('base64')}`}
  const args = ['--role', 'control', '--store', store]
  const one = await startPlatformProcess(t, join(tempDir(t), 'data'), undefined, {args, env})
  const two = await startPlatformProcess(t, join(tempDir(t), 'data'), undefined, {args, env})
  t.is(two.caPem, one.caPem, 'one CA, kept in the shared store')

  const owner = await loginToken(one.summary.apiUrl, one.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const a = await createEdge(one.summary.apiUrl, one.caPem, owner, 'edge-a')
  const b = await createEdge(one.summary.apiUrl, one.caPem, owner, 'edge-b')
  const edgeA = await startEdgeNode(t, tempDir(t), one.summary.apiUrl, one.caPem, {joinToken: a.joinToken})
  const edgeB = await startEdgeNode(t, tempDir(t), two.summary.apiUrl, two.caPem, {joinToken: b.joinToken})

  const host = `multi.${one.summary.domain}`
  const {token} = await publishThroughApi(one, host, 'multi')
  const origin = await startOrigin(t)
  await startTunnelCli(t, [String(origin.port)], {MEZU_API_URL: one.summary.apiUrl, MEZU_CA_FILE: one.summary.caPath, MEZU_WARPGATE_TOKEN: token}, 1, [WARPGATE_BIN])

  await waitUntilServed(edgeA.address, host)
  // edge B's channel is held by the second control plane; the first learns of it from the store
  await waitUntilServed(edgeB.address, host, 30_000)
  for (const edge of [edgeA, edgeB]) {
    const r = await edgeRequest(edge.address, host, '/hello')
    t.is(r.status, 200, `${edge.summary.name}: ${r.text}`)
  }

  // a route that needs a signed-in user; sign in at edge A (control plane one), land at edge B (two)
  const privateHost = `private.${one.summary.domain}`
  const made = await api(one.summary.apiUrl, one.caPem, 'POST', '/v1/routes', {token: owner, body: {project: 'p-multi', env: 'prod', hostname: privateHost, service: 'multi'}})
  t.is(made.status, 201, made.text)
  await waitUntilServed(edgeB.address, privateHost).catch(() => {})
  t.is((await edgeRequest(edgeB.address, privateHost, '/')).status, 302, 'anonymous is sent to sign in')
  const browser = new AuthBrowser(edgeA.address as unknown as TestPlatform)
  const signedIn = await browser.signIn(ADMIN_EMAIL, ADMIN_PASSWORD, `https://${privateHost}:${edgeA.summary.ports.edge}/after`)
  const callback = new URL(String(signedIn.headers.location))
  t.is(callback.pathname, '/.mezu/callback')
  const landed = await edgeRequest(edgeB.address, privateHost, callback.pathname + callback.search)
  t.is(landed.status, 303, landed.text)
  const cookie = String(landed.headers['set-cookie']).split(';')[0]
  t.is((await edgeRequest(edgeB.address, privateHost, '/headers', {headers: {cookie}})).status, 200)
  t.is((await edgeRequest(edgeA.address, privateHost, callback.pathname + callback.search)).status, 400, 'the code works once, across control planes')
})
