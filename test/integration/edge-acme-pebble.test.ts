import {X509Certificate} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {request} from 'node:http'
import https from 'node:https'
import tls from 'node:tls'
import {setTimeout as delay} from 'node:timers/promises'
import anyTest, {type TestFn} from 'ava'
import {buildAcmeConfig} from '../../platform/acme-config.js'
import {findAcmeAccount, listAcmeCertificates} from '../../platform/store/config/acme.js'
import type {AcmeCertificateStatus} from '../../src/lib/api-types/index.js'
import {HEADER_EDGE_ERROR} from '../../src/protocol/headers.js'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {freePort, type Pebble, pebbleMissing, startPebble} from '../helpers/pebble.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {hookScope} from '../helpers/shared.js'

const DOMAIN = 'pebble.test'
const APP = `app.${DOMAIN}`
const AUTH = `auth.${DOMAIN}`
const UNREACHABLE = `unreachable.${DOMAIN}`
/** pebble's certificate lifetime here: renewal (at two thirds) comes after about 27 s */
const VALIDITY_SECONDS = 40

interface Ctx {
  pebble: Pebble
  platform: TestPlatform
  dir: string
  ports: {edge: number; http: number}
  root: string
  token: string
  scope: ReturnType<typeof hookScope>
}
const test = anyTest as TestFn<Ctx>
const missing = pebbleMissing()
const run = missing ? test.serial.skip : test.serial
if (missing) console.log(`ACME tests skipped: ${missing}`)

function acmeSettings(pebble: Pebble, ports: Ctx['ports'], challenges?: Array<'tls-alpn-01' | 'http-01'>) {
  return buildAcmeConfig({email: 'ops@pebble.test', directoryUrl: pebble.directoryUrl, httpPort: ports.http, caFile: pebble.caFile, ...(challenges && {challenges})}, DOMAIN)
}

test.before(async (t) => {
  if (missing) return
  const scope = hookScope()
  const ports = {edge: await freePort(), http: await freePort()}
  const pebble = await startPebble(scope.t, {httpPort: ports.http, tlsPort: ports.edge, validitySeconds: VALIDITY_SECONDS})
  // The CA resolves this host to an address where nothing answers: its validation must fail.
  await pebble.addA(UNREACHABLE, '127.0.0.2')
  const dir = tempDir(scope.t)
  const platform = await startTestPlatform(scope.t, {domain: DOMAIN, edgePort: ports.edge, acme: acmeSettings(pebble, ports)}, dir)
  const {projectId, environmentId} = await addProjectEnv(platform)
  await addRoute(platform, {projectId, environmentId, hostname: APP, service: 'app'})
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.context = {pebble, platform, dir, ports, root: await pebble.root(), token, scope}
})

test.after.always(async (t) => {
  await t.context.scope?.dispose()
})

/** The route's ACME status through the API, polled until `done` holds (deadline, not a sleep). */
async function waitForStatus(c: Ctx, host: string, done: (s: AcmeCertificateStatus) => boolean, what: string, deadlineMs = 60_000): Promise<AcmeCertificateStatus> {
  const deadline = Date.now() + deadlineMs
  let last: AcmeCertificateStatus | undefined
  for (;;) {
    const r = await api(c.platform.apiUrl, c.platform.caPem, 'GET', `/v1/routes/${host}`, {token: c.token})
    last = r.body?.acme
    if (last && done(last)) return last
    if (Date.now() > deadline) throw new Error(`${host} did not become ${what} within ${deadlineMs} ms; last status ${JSON.stringify(last ?? r.body)}`)
    await delay(200)
  }
}

/** The auth host has no route; its status is the manager's (no API shows it). */
async function waitForAuth(c: Ctx): Promise<void> {
  const deadline = Date.now() + 60_000
  while (c.platform.ctx.acme?.status(AUTH)?.status !== 'valid') {
    if (Date.now() > deadline) throw new Error(`${AUTH}: ${JSON.stringify(c.platform.ctx.acme?.status(AUTH))}`)
    await delay(200)
  }
}

/** The one project and environment the fixture made (read from the store, as a restarted platform must). */
async function firstProjectEnv(platform: TestPlatform): Promise<{projectId: string; environmentId: string}> {
  const db = platform.ctx.cdb.db
  const project = await db.selectFrom('projects').select('id').executeTakeFirstOrThrow()
  const environment = await db.selectFrom('environments').select('id').executeTakeFirstOrThrow()
  return {projectId: project.id, environmentId: environment.id}
}

/** Every file under dir, with its bytes. */
function readAll(dir: string): Array<[string, Buffer]> {
  return readdirSync(dir).flatMap((name): Array<[string, Buffer]> => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? readAll(p) : [[p, readFileSync(p)]]
  })
}

/** A TLS handshake to the edge as a browser would make it, trusting only `ca`. */
function handshake(port: number, servername: string, ca: string): Promise<{authorized: boolean; error?: string; cert?: X509Certificate; alpn?: string | false | null}> {
  return new Promise((resolve) => {
    const socket = tls.connect({host: '127.0.0.1', port, servername, ca: [ca], ALPNProtocols: ['h2', 'http/1.1']})
    socket.once('secureConnect', () => {
      const raw = socket.getPeerX509Certificate()
      resolve({authorized: socket.authorized, cert: raw, alpn: socket.alpnProtocol})
      socket.destroy()
    })
    socket.once('error', (e) => resolve({authorized: false, error: e.message}))
  })
}

run('the platform obtains certificates for a route host and auth.<domain>, and the edge serves them verified by the CA\'s root', async (t) => {
  const c = t.context
  const status = await waitForStatus(c, APP, (s) => s.status === 'valid', 'valid')
  t.truthy(status.expiresAt)
  t.is(status.reason, null)
  t.is(status.challenge, 'tls-alpn-01')
  t.true(Date.parse(status.nextAttemptAt!) < Date.parse(status.expiresAt!), 'renewal is planned before expiry')
  await waitForAuth(c)
  for (const host of [APP, AUTH]) {
    const h = await handshake(c.ports.edge, host, c.root)
    t.true(h.authorized, `${host}: ${h.error}`)
    t.true(h.cert!.checkHost(host) === host, `${host} is named by the certificate`)
    t.is(h.alpn, 'h2', 'browsers still get HTTP/2')
  }
  // A whole HTTPS request, trusting only pebble's root: the edge answers (no Warpgate is connected, so 503).
  const res = await new Promise<{status?: number; error?: string | string[]}>((resolve, reject) => {
    https.request({host: '127.0.0.1', port: c.ports.edge, path: '/', servername: APP, headers: {host: APP}, ca: c.root}, (r) => {
      r.resume()
      resolve({status: r.statusCode, error: r.headers[HEADER_EDGE_ERROR.toLowerCase()]})
    }).on('error', reject).end()
  })
  t.deepEqual(res, {status: 503, error: 'service_offline'})
  // Without ACME for it, a name falls back to the platform CA's certificate.
  const other = await handshake(c.ports.edge, `other.${DOMAIN}`, c.platform.caPem)
  t.true(other.authorized, other.error)
  const notPebble = await handshake(c.ports.edge, `other.${DOMAIN}`, c.root)
  t.false(notPebble.authorized)
})

run('an order the CA cannot validate shows failed with its reason and the next attempt, in the API and in mezu routes get', async (t) => {
  const c = t.context
  const {projectId, environmentId} = await firstProjectEnv(c.platform)
  await addRoute(c.platform, {projectId, environmentId, hostname: UNREACHABLE, service: 'gone'})
  const failedAt = Date.now()
  const s = await waitForStatus(c, UNREACHABLE, (x) => x.status === 'failed', 'failed')
  t.log(s.reason)
  t.regex(s.reason!, /tls-alpn-01 validation of unreachable\.pebble\.test failed: .+/)
  const next = Date.parse(s.nextAttemptAt!)
  t.true(next > failedAt + 50_000 && next < Date.now() + 61_000, `first retry about a minute later: ${s.nextAttemptAt}`)
  t.is(s.expiresAt, null)
  const env = {MEZU_API_URL: c.platform.apiUrl, MEZU_TOKEN: c.token, MEZU_CA_FILE: c.platform.caPath}
  const json = await mezu(['routes', 'get', UNREACHABLE, '--json'], {env})
  t.is(json.code, 0, json.stderr)
  t.like(json.json().acme, {status: 'failed', reason: s.reason, nextAttemptAt: s.nextAttemptAt})
  const table = await mezu(['routes', 'get', UNREACHABLE], {env})
  t.regex(table.stdout, /certificate\s+ACME, failed: tls-alpn-01 validation of unreachable\.pebble\.test failed: .+; next attempt \d{4}-/)
  // The edge keeps serving the platform CA's certificate for that host meanwhile.
  t.true((await handshake(c.ports.edge, UNREACHABLE, c.platform.caPem)).authorized)
})

run('renewal at two thirds of the lifetime replaces the certificate without a restart', async (t) => {
  const c = t.context
  const before = await handshake(c.ports.edge, APP, c.root)
  t.true(before.authorized, before.error)
  const first = await waitForStatus(c, APP, (s) => s.status === 'valid', 'valid')
  const renewed = await waitForStatus(c, APP, (s) => s.status === 'valid' && s.issuedAt !== first.issuedAt, 'renewed', VALIDITY_SECONDS * 1000 + 30_000)
  t.true(Date.parse(renewed.expiresAt!) > Date.parse(first.expiresAt!))
  const after = await handshake(c.ports.edge, APP, c.root)
  t.true(after.authorized, after.error)
  t.not(after.cert!.serialNumber, before.cert!.serialNumber, 'a new certificate is served')
  t.is(Date.parse(after.cert!.validTo), Date.parse(renewed.expiresAt!))
})

run('after a restart the stored certificates are served at once, and HTTP-01 on --acme-http-port issues for a new host', async (t) => {
  const c = t.context
  const stored = await listAcmeCertificates(c.platform.ctx.cdb)
  const account = (await findAcmeAccount(c.platform.ctx.cdb, c.pebble.directoryUrl, 'ops@pebble.test'))!
  t.deepEqual(stored.map((r) => r.hostname).sort(), [APP, AUTH].sort(), 'the failed host has no certificate')
  await c.platform.stop()
  // Keys, certificates and hostnames are sealed: none of them is readable in any file of the data directory.
  const keyLine = (pem: string) => pem.split('\n')[1]
  const secrets = [APP, keyLine(account.keyPem), ...stored.flatMap((r) => [keyLine(r.keyPem), keyLine(r.certPem)])]
  for (const [path, bytes] of readAll(c.dir)) for (const secret of secrets) t.false(bytes.includes(secret), `${secret.slice(0, 20)}… appears in ${path}`)
  const platform = await startTestPlatform(c.scope.t, {domain: DOMAIN, edgePort: c.ports.edge, acme: acmeSettings(c.pebble, c.ports, ['http-01'])}, c.dir)
  c.platform = platform
  // Loaded from the sealed store before any order: served at once (renewing if its renewal time passed meanwhile).
  t.true(['valid', 'renewing'].includes(platform.ctx.acme?.status(APP)?.status ?? ''), JSON.stringify(platform.ctx.acme?.status(APP)))
  t.true((await handshake(c.ports.edge, APP, c.root)).authorized)
  const {projectId, environmentId} = await firstProjectEnv(platform)
  await addRoute(platform, {projectId, environmentId, hostname: `web.${DOMAIN}`, service: 'web'})
  const s = await waitForStatus(c, `web.${DOMAIN}`, (x) => x.status === 'valid', 'valid')
  t.is(s.challenge, 'http-01')
  t.true((await handshake(c.ports.edge, `web.${DOMAIN}`, c.root)).authorized)
  // Everything on the HTTP port other than a challenge is sent to HTTPS.
  const redirect = await new Promise<{status?: number; location?: string}>((resolve, reject) => {
    request({host: '127.0.0.1', port: c.ports.http, path: '/shop?x=1', headers: {host: `web.${DOMAIN}`}}, (res) => {
      res.resume()
      resolve({status: res.statusCode, location: res.headers.location})
    }).on('error', reject).end()
  })
  t.deepEqual(redirect, {status: 308, location: `https://web.${DOMAIN}:${c.ports.edge}/shop?x=1`})
})
