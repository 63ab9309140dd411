import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {createEdge, startEdgeNode} from '../helpers/edge-node.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, tempDir} from '../helpers/platform.js'
import {startPlatformProcess} from '../helpers/platform-process.js'
import {postgresAvailable, startPostgres, type TestPostgres} from '../helpers/postgres.js'

// The edge's renewal failing and being retried (issue 12): the control plane stays reachable but
// cannot sign, because its PostgreSQL is down. Renewal comes due, fails, is retried; the certificate
// runs out meanwhile and the edge's /readyz says so; once PostgreSQL is back a retry succeeds and the
// edge is ready again, all without a restart. Real processes and a PostgreSQL cluster of its own.

const TTL_MS = 15_000

let pg: TestPostgres | undefined

test.before(async () => {
  if (postgresAvailable()) pg = await startPostgres()
})
test.after.always(async () => {
  await pg?.close()
})

function stateCert(dir: string): X509Certificate {
  return new X509Certificate(JSON.parse(readFileSync(join(dir, 'edge-node.json'), 'utf8')).certPem)
}

async function readyz(metricsUrl: string): Promise<{status: number; failing: string[]; text: string}> {
  const r = await fetch(new URL('/readyz', metricsUrl))
  const text = await r.text()
  const body = JSON.parse(text) as {failing?: string[]}
  return {status: r.status, failing: body.failing ?? [], text}
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000} s`)
    await delay(200)
  }
}

test('a renewal the control plane cannot sign is retried; the edge reports its certificate expired, then renews once the store is back', async (t) => {
  if (!pg) return t.fail('PostgreSQL (initdb) is not installed; .ci/run installs Debian\'s postgresql')
  const store = await pg.createDatabase()
  const control = await startPlatformProcess(t, tempDir(t), undefined, {args: ['--role', 'control', '--store', store], env: {MEZU_PLATFORM_EDGE_CERT_TTL_MS: String(TTL_MS)}})
  const {apiUrl} = control.summary
  const owner = await loginToken(apiUrl, control.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const {joinToken} = await createEdge(apiUrl, control.caPem, owner, 'retrying')
  const dir = tempDir(t)
  const edge = await startEdgeNode(t, dir, apiUrl, control.caPem, {joinToken, args: ['--metrics-addr', '127.0.0.1:0']})
  const enrolledAt = Date.now()
  const first = stateCert(dir)
  const metricsUrl = edge.summary.metricsUrl!
  t.truthy(metricsUrl)
  t.is((await readyz(metricsUrl)).status, 200)

  await pg.stop()
  let restarted = false
  try {
    // due at two thirds (~10 s): each attempt fails at the control plane and is retried
    const retries = await until('two failed renewals', TTL_MS + 5_000, () => {
      const n = edge.stderr().split('the edge certificate could not be renewed; retrying').length - 1
      return n >= 2 ? n : undefined
    })
    t.true(Date.now() >= enrolledAt + (TTL_MS * 2) / 3 - 1_000, 'no attempt before renewal was due')
    t.true(retries >= 2)
    t.is(stateCert(dir).serialNumber, first.serialNumber, 'nothing was saved from a failed renewal')
    // the certificate runs out before a retry can succeed: readiness says so, naming the expiry
    await delay(Math.max(0, Date.parse(first.validTo) + 500 - Date.now()))
    const expired = await until('/readyz failing on the certificate', 10_000, async () => {
      const r = await readyz(metricsUrl)
      return r.failing.includes('certificate') ? r : undefined
    })
    t.is(expired.status, 503)
    t.regex(expired.text, /expired at .* before it could be renewed/)
    t.is(edge.child.exitCode, null, 'the edge keeps running')
    await pg.start()
    restarted = true
  } finally {
    if (!restarted) await pg.start()
  }

  // a retry after the store is back succeeds: new key, new certificate, saved, ready again
  const renewed = await until('the renewed certificate', 20_000, () => {
    const c = stateCert(dir)
    return c.serialNumber === first.serialNumber ? undefined : c
  })
  t.true(Date.parse(renewed.validTo) > Date.now(), 'the new certificate is current')
  t.false(renewed.publicKey.export({format: 'der', type: 'spki'}).equals(first.publicKey.export({format: 'der', type: 'spki'})), 'a new key')
  await until('/readyz ready again', 10_000, async () => ((await readyz(metricsUrl)).status === 200 ? true : undefined))
  // the control plane recorded it: the edge's expiry there is the new certificate's
  const got = await api(apiUrl, control.caPem, 'GET', `/v1/edges/retrying`, {token: owner})
  t.is(got.status, 200, got.text)
  t.is(Math.floor(Date.parse(got.body.certificateExpiresAt) / 1000), Date.parse(renewed.validTo) / 1000)
})
