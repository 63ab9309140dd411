import {X509Certificate} from 'node:crypto'
import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {connect} from 'node:tls'
import {setTimeout as delay} from 'node:timers/promises'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {WARPGATE_BIN} from '../helpers/cli.js'
import {createEdge, startEdgeNode} from '../helpers/edge-node.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, tempDir} from '../helpers/platform.js'
import {publishThroughApi, startPlatformProcess} from '../helpers/platform-process.js'
import {testStoreLocation} from '../helpers/store-engine.js'
import {edgeRequest, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// An edge node renews its certificate over its control channel (issue 12). With 30-second
// certificates renewal is due at ~20 s; here it comes due while the control plane is down and
// happens once it is back. After the first certificate has expired the renewed one must carry every
// connection: the control channel, a new Warpgate's tunnel connection, and end users' TLS. Real
// processes; on PostgreSQL too (MEZU_TEST_STORE).

const TTL_MS = 30_000

function stateSerial(dir: string): string {
  return new X509Certificate(JSON.parse(readFileSync(join(dir, 'edge-node.json'), 'utf8')).certPem).serialNumber
}

async function servedSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({host: '127.0.0.1', port, servername, rejectUnauthorized: false}, () => {
      resolve(s.getPeerCertificate().serialNumber)
      s.end()
    })
    s.on('error', reject)
  })
}

async function nextSerial(dir: string, after: string, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const now = stateSerial(dir)
    if (now !== after) return now
    await delay(200)
  }
  throw new Error(`the edge certificate was not renewed within ${timeoutMs / 1000} s`)
}

test('an edge node renews its certificate over the control channel before it runs out, and every connection made afterwards uses the new one', async (t) => {
  const store = await testStoreLocation()
  const controlArgs = ['--role', 'control', ...(store ? ['--store', store.url] : [])]
  const env = {MEZU_PLATFORM_EDGE_CERT_TTL_MS: String(TTL_MS)}
  const controlDir = tempDir(t)
  const control = await startPlatformProcess(t, controlDir, undefined, {args: controlArgs, env})
  const {apiUrl, domain} = control.summary
  const owner = await loginToken(apiUrl, control.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const {id: edgeId, joinToken} = await createEdge(apiUrl, control.caPem, owner, 'renewing')
  const dir = tempDir(t)
  const edge = await startEdgeNode(t, dir, apiUrl, control.caPem, {joinToken})
  const firstCert = new X509Certificate(JSON.parse(readFileSync(join(dir, 'edge-node.json'), 'utf8')).certPem)

  const host = `one.${domain}`
  const {token} = await publishThroughApi(control, host, 'one')
  const origin = await startOrigin(t)
  const tunnelEnv = {MEZU_API_URL: apiUrl, MEZU_CA_FILE: control.summary.caPath}
  await startTunnelCli(t, [String(origin.port)], {...tunnelEnv, MEZU_WARPGATE_TOKEN: token}, 1, [WARPGATE_BIN])
  await waitUntilServed(edge.address, host)

  const enrolledAt = Date.now()
  const restartControl = async () => {
    const port = Number(new URL(apiUrl).port)
    return startPlatformProcess(t, controlDir, {api: port, edge: 0, tunnel: 0}, {args: controlArgs, env})
  }

  // renewal comes due while the control plane is down: it waits for the channel, then happens
  await delay(Math.max(0, enrolledAt + TTL_MS / 2 - Date.now()))
  await control.kill('SIGTERM')
  await delay(Math.max(0, enrolledAt + (TTL_MS * 2) / 3 + 1000 - Date.now()))
  t.is(stateSerial(dir), firstCert.serialNumber)
  const back = await restartControl()
  const s1 = await nextSerial(dir, firstCert.serialNumber, 10_000).catch((e: Error) => {
    throw new Error(`${e.message}; edge stderr: ${edge.stderr()}`)
  })
  // saved 0600 before use, and served
  t.is(statSync(join(dir, 'edge-node.json')).mode & 0o777, 0o600)
  t.is(await servedSerial(edge.summary.ports.edge, host), s1, 'the edge serves its renewed certificate')

  // once the first certificate has run out, the channel comes back with the renewed one
  await delay(Math.max(0, Date.parse(firstCert.validTo) + 1000 - Date.now()))
  await back.kill('SIGTERM')
  const again = await restartControl()
  let status = ''
  for (let i = 0; i < 100 && status !== 'connected'; i++) {
    status = (await api(apiUrl, again.caPem, 'GET', `/v1/edges/${edgeId}`, {token: owner})).body.status
    if (status !== 'connected') await delay(100)
  }
  t.is(status, 'connected', `the edge reconnected with its renewed certificate; edge stderr: ${edge.stderr()}`)

  // a Warpgate that connects now verifies the edge's tunnel certificate: the renewed one
  const host2 = `two.${domain}`
  const second = await publishThroughApi(again, host2, 'two')
  await startTunnelCli(t, [String(origin.port)], {...tunnelEnv, MEZU_WARPGATE_TOKEN: second.token}, 1, [WARPGATE_BIN])
  await waitUntilServed(edge.address, host2)
  t.is((await edgeRequest(edge.address, host, '/hello')).status, 200)

  const shown = (await api(apiUrl, again.caPem, 'GET', `/v1/edges/${edgeId}`, {token: owner})).body
  t.true(Date.parse(shown.certificateExpiresAt) > Date.parse(firstCert.validTo), JSON.stringify(shown))
  const audit = (await api(apiUrl, again.caPem, 'GET', '/v1/audit?limit=200', {token: owner})).body.items.filter((e: {action: string}) => e.action === 'edge.renew')
  t.is(audit.length, 1, 'the renewal is audited')
})
