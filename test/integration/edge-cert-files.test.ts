import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import https from 'node:https'
import {join} from 'node:path'
import tls from 'node:tls'
import test from 'ava'
import pino from 'pino'
import {buildConfig} from '../../platform/config.js'
import {CertFileWatcher, type LoadedCert} from '../../platform/pki/cert-files.js'
import {startPlatform} from '../../platform/server.js'
import {mezu} from '../helpers/cli.js'
import {patternChunk, startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {ownerCli} from '../helpers/session.js'
import {createTestCa, issueTestCert, type TestCa} from '../helpers/test-ca.js'
import {startWarpgate, waitFor, waitUntilServed} from '../helpers/tunnel.js'

const DOMAIN = 'files.test'

function writePair(dir: string, pair: {certPem: string; keyPem: string}): {certFile: string; keyFile: string} {
  const certFile = join(dir, 'edge.pem')
  const keyFile = join(dir, 'edge.key')
  writeFileSync(keyFile, pair.keyPem)
  writeFileSync(certFile, pair.certPem)
  return {certFile, keyFile}
}

function curl(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', ...args], {timeout: 20_000}, (error, stdout, stderr) => resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr}))
  })
}

/** The serial of the certificate a new TLS connection to the edge is given, verified against CA. */
function servedSerial(port: number, host: string, ca: TestCa): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({host: '127.0.0.1', port, servername: host, ca: ca.certPem, ALPNProtocols: ['http/1.1']}, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase())
      s.end()
    })
    s.on('error', reject)
  })
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms (last: ${String(v)})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test.serial('the edge serves the certificate from --tls-cert/--tls-key, which curl verifies against the issuing CA', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const files = writePair(dir, issueTestCert(ca, [`*.${DOMAIN}`, `auth.${DOMAIN}`], '0A01'))
  const platform = await startTestPlatform(t, {domain: DOMAIN, certificates: {edge: files, checkIntervalMs: 1000}})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `app.${DOMAIN}`
  await addRoute(platform, {...scope, hostname: host, service: 'app'})
  await startWarpgate(t, platform, scope, 'app', origin.url)
  const edge = {caPem: ca.certPem, ports: platform.ports}
  await waitUntilServed(edge, host)
  const port = platform.ports.edge!
  const ok = await curl(['--cacert', ca.certFile, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/hello`])
  t.is(ok.code, 0, ok.stderr)
  t.is(ok.stdout, 'hello from origin\n')
  // not the private CA's certificate any more: a client pinning only that CA is refused
  const pinned = await curl(['--cacert', platform.caPath, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/hello`])
  t.not(pinned.code, 0, 'the platform CA does not vouch for the served certificate')
  t.is(await servedSerial(port, host, ca), '0A01')
})

test.serial('a renewed pair written over the files is served to new connections without a restart, while a streaming response on an old connection finishes intact', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const files = writePair(dir, issueTestCert(ca, [`*.${DOMAIN}`], '0A01'))
  const platform = await startTestPlatform(t, {domain: DOMAIN, certificates: {edge: files, checkIntervalMs: 1000}})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `stream.${DOMAIN}`
  await addRoute(platform, {...scope, hostname: host, service: 'stream'})
  await startWarpgate(t, platform, scope, 'stream', origin.url)
  const port = platform.ports.edge!
  await waitUntilServed({caPem: ca.certPem, ports: platform.ports}, host)

  const total = 16 * 1024 * 1024
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    https.get({host: '127.0.0.1', port, servername: host, path: `/bytes?n=${total}`, headers: {host}, ca: ca.certPem, agent: false}, resolve).on('error', reject)
  })
  t.is(res.statusCode, 200)
  const socket = res.socket as tls.TLSSocket
  t.is(socket.getPeerCertificate().serialNumber.toUpperCase(), '0A01')
  const hash = createHash('sha256')
  let received = 0
  res.on('data', (c: Buffer) => {
    received += c.length
    hash.update(c)
  })
  const ended = new Promise<void>((resolve, reject) => {
    res.on('end', resolve)
    res.on('error', reject)
    res.on('aborted', () => reject(new Error('the streaming response was cut')))
  })
  // hold the stream open (back-pressure up to the origin) while the files change
  res.pause()

  writePair(dir, issueTestCert(ca, [`*.${DOMAIN}`], '0B02'))
  await until(() => servedSerial(port, host, ca), (s) => s === '0B02', 'a new connection was not given the renewed certificate')
  t.true(received < total, 'the response was still streaming when the certificate changed')
  const fresh = await curl(['--http2', '-w', '%{http_version}', '--cacert', ca.certFile, '--resolve', `${host}:${port}:127.0.0.1`, `https://${host}:${port}/hello`])
  t.is(fresh.stdout, 'hello from origin\n2', `HTTP/2 is still offered with the new certificate; ${fresh.stderr}`)

  res.resume()
  await ended
  t.is(received, total)
  const expected = createHash('sha256')
  for (let off = 0; off < total; off += 256 * 1024) expected.update(patternChunk(off, Math.min(256 * 1024, total - off)))
  t.is(hash.digest('hex'), expected.digest('hex'), 'the bytes arrived intact')
  t.false(socket.destroyed && received < total)
})

test('the control API serves --api-tls-cert/--api-tls-key (TLS 1.3) and takes a renewed pair without a restart; the tunnel keeps the platform CA', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const files = writePair(dir, issueTestCert(ca, ['mezu.example.test'], '0C01'))
  const platform = await startTestPlatform(t, {certificates: {api: files, checkIntervalMs: 1000}})
  const port = platform.ports.api
  const r = await curl(['--cacert', ca.certFile, '--resolve', `mezu.example.test:${port}:127.0.0.1`, `https://mezu.example.test:${port}/v1/me`])
  t.is(r.code, 0, r.stderr)
  t.is(JSON.parse(r.stdout).error.code, 'unauthenticated', 'the API answered over the operator\'s certificate')
  t.is(await servedSerial(port, 'mezu.example.test', ca), '0C01')
  writePair(dir, issueTestCert(ca, ['mezu.example.test'], '0C02'))
  await until(() => servedSerial(port, 'mezu.example.test', ca), (s) => s === '0C02', 'the API did not take the renewed certificate')
  const tunnelIssuer = await new Promise<string>((resolve) => {
    const s = tls.connect({host: '127.0.0.1', port: platform.ports.tunnel!, ca: platform.caPem, servername: 'localhost', ALPNProtocols: ['mezu-tunnel']}, () => {
      resolve(String(s.getPeerCertificate().issuer.CN ?? ''))
      s.destroy()
    })
    s.on('error', () => resolve('refused'))
  })
  t.is(tunnelIssuer, 'Mezusphere platform CA')
})

test('a changed pair that cannot be used is reported naming the file, and the next good pair is taken', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const first = issueTestCert(ca, ['a.example.test'], '01')
  const second = issueTestCert(ca, ['a.example.test'], '02')
  const files = writePair(dir, first)
  const errors: Error[] = []
  const loaded: LoadedCert[] = []
  const events = new (await import('node:events')).EventEmitter<{e: [unknown]}>()
  const watcher = new CertFileWatcher(files, {
    checkIntervalMs: 500, settleMs: 50,
    onError: (e) => (errors.push(e), events.emit('e', e)),
    onChange: (c) => (loaded.push(c), events.emit('e', c)),
  })
  t.teardown(() => watcher.close())
  const next = () => waitFor<unknown>((fn) => (events.on('e', fn), () => events.off('e', fn)), () => true, 'a reload', 10_000)
  const mismatch = next()
  writeFileSync(files.keyFile, second.keyPem)
  await mismatch
  t.is(loaded.length, 0, 'a key that does not match is never served')
  t.regex(errors[0].message, new RegExp(`the key in ${files.keyFile} does not match the certificate in ${files.certFile}`))
  const good = next()
  writeFileSync(files.certFile, second.certPem)
  await good
  t.is(loaded.at(-1)?.leaf.serialNumber, '02')
  watcher.close()
  watcher.close()
})

test('mezu platform start refuses a key that does not match the certificate and an unreadable file, naming them, before touching the data directory', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const files = writePair(dir, issueTestCert(ca, [`*.${DOMAIN}`], '01'))
  const other = join(dir, 'other.key')
  writeFileSync(other, issueTestCert(ca, [`*.${DOMAIN}`], '02').keyPem)
  const dataDir = join(dir, 'data')
  const start = (extra: string[]) => mezu(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', '--json', ...extra], {env: {MEZU_MASTER_KEY: ''}})
  const mismatch = await start(['--tls-cert', files.certFile, '--tls-key', other])
  t.is(mismatch.code, 1)
  t.is(mismatch.stdout, '')
  t.regex(JSON.parse(mismatch.stderr).error.message, new RegExp(`the key in ${other} does not match the certificate in ${files.certFile}`))
  const missing = await start(['--api-tls-cert', join(dir, 'nope.pem'), '--api-tls-key', files.keyFile])
  t.is(missing.code, 1)
  t.regex(JSON.parse(missing.stderr).error.message, /cannot read the certificate file .*nope\.pem: ENOENT/)
  const notPem = await start(['--tls-cert', files.keyFile, '--tls-key', files.keyFile])
  t.regex(JSON.parse(notPem.stderr).error.message, /edge\.key holds no PEM certificate/)
  const alone = await start(['--tls-cert', files.certFile])
  t.is(alone.code, 2, 'a certificate without its key is a usage error')
  t.regex(alone.stderr, /tls-key/)
  t.is((await mezu(['platform', 'status', '--data-dir', dataDir, '--json'])).json().initialized, false, 'nothing was created')
})

test.serial('routes create warns (stderr for people, warnings under --json) and the platform logs at start when the edge certificate does not cover a route host', async (t) => {
  const dir = tempDir(t)
  const ca = createTestCa(dir)
  const files = writePair(dir, issueTestCert(ca, [`*.${DOMAIN}`, `auth.${DOMAIN}`], '01'))
  const certificates = {edge: files, checkIntervalMs: 1000}
  const platform = await startTestPlatform(t, {domain: DOMAIN, certificates}, dir)
  const cli = await ownerCli(t, platform)
  await cli.json(['projects', 'create', 'shop'])
  await cli.json(['envs', 'create', 'production', '--project', 'shop'])
  const covered = await cli.json(['routes', 'create', '--hostname', 'shop', '--service', 'web', '--project', 'shop'])
  t.deepEqual(covered.warnings, [])
  const outside = await cli.json(['routes', 'create', '--hostname', 'shop.example.com', '--service', 'web', '--project', 'shop'])
  t.is(outside.warnings.length, 1)
  t.regex(outside.warnings[0], new RegExp(`certificate \\(${files.certFile}\\) does not cover shop\\.example\\.com`))
  const human = await cli.run(['routes', 'create', '--hostname', 'deep.shop.files.test', '--service', 'web', '--project', 'shop'])
  t.is(human.code, 0, human.stderr)
  t.regex(human.stderr, /^Warning: .*does not cover deep\.shop\.files\.test/m, 'a wildcard covers one label only')
  t.notRegex(human.stdout, /Warning/)

  await platform.stop()
  const lines: Array<{msg: string; host?: string}> = []
  const log = pino({level: 'warn'}, {write: (s: string) => lines.push(JSON.parse(s))})
  const again = await startPlatform(buildConfig({dataDir: join(dir, 'data'), apiPort: 0, edgePort: 0, tunnelPort: 0, domain: DOMAIN, certificates}), {log, adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD})
  t.teardown(() => again.stop())
  t.deepEqual(lines.filter((l) => /does not cover/.test(l.msg)).map((l) => l.host).sort(), ['deep.shop.files.test', 'shop.example.com'])
})
