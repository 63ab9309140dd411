import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import test from 'ava'
import {loginToken} from '../helpers/api.js'
import {BIN, mezu} from '../helpers/cli.js'
import {freePort, pebbleMissing, startPebble} from '../helpers/pebble.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, tempDir} from '../helpers/platform.js'

test('ACME flags without --acme-email, or with bad values, are usage errors naming the flag', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const cases: Array<[string[], RegExp]> = [
    [['--acme-directory', 'https://ca.example/dir'], /acme-email/],
    [['--acme-http-port', '80'], /acme-email/],
    [['--acme-email', 'nobody', '--domain', 'example.com'], /--acme-email must be an email address|acme\.email must be an email address/],
    [['--acme-email', 'ops@example.com'], /needs a public domain/],
    [['--acme-email', 'ops@example.com', '--domain', 'example.com', '--acme-directory', 'http://ca.example/dir'], /acme-directory.*https:\/\//],
    [['--acme-email', 'ops@example.com', '--domain', 'example.com', '--acme-ca-file', join(dataDir, 'none.pem')], /acme\.caFile \(--acme-ca-file\) .* cannot be read/],
  ]
  for (const [args, message] of cases) {
    const r = await mezu(['platform', 'start', '--data-dir', dataDir, ...args])
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    t.regex(r.stderr, message)
  }
})

const missing = pebbleMissing()
;(missing ? test.skip : test)('mezu platform start --acme-* gets a certificate for a route made with mezu routes create, shown by mezu routes get', async (t) => {
  const ports = {edge: await freePort(), http: await freePort()}
  const pebble = await startPebble(t, {httpPort: ports.http, tlsPort: ports.edge})
  const dataDir = join(tempDir(t), 'data')
  const child = spawn(process.execPath, [
    BIN, 'platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', String(ports.edge), '--tunnel-port', '0', '--domain', 'pebble.test',
    '--admin-email', ADMIN_EMAIL, '--admin-password-stdin', '--log-level', 'silent', '--json',
    '--acme-email', 'ops@pebble.test', '--acme-directory', pebble.directoryUrl, '--acme-http-port', String(ports.http), '--acme-ca-file', pebble.caFile,
  ], {env: {...process.env, CI: '1', MEZU_MASTER_KEY: ''}, stdio: ['pipe', 'pipe', 'pipe']})
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await Promise.race([exited, delay(10_000)])
    child.kill('SIGKILL')
  })
  child.stdin.end(ADMIN_PASSWORD)
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const summary = await new Promise<{apiUrl: string; caPath: string; ports: {acmeHttp: number}}>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))))
    })
    void exited.then((code) => reject(new Error(`platform start exited ${code}: ${stderr}`)))
  })
  t.is(summary.ports.acmeHttp, ports.http)
  const caPem = readFileSync(summary.caPath, 'utf8')
  const env = {MEZU_API_URL: summary.apiUrl, MEZU_TOKEN: await loginToken(summary.apiUrl, caPem, ADMIN_EMAIL, ADMIN_PASSWORD), MEZU_CA_FILE: summary.caPath}
  for (const args of [['projects', 'create', 'shop'], ['envs', 'create', 'prod', '--project', 'shop'], ['routes', 'create', '--hostname', 'shop', '--service', 'web', '--project', 'shop']]) {
    const r = await mezu([...args, '--json'], {env})
    t.is(r.code, 0, r.stderr)
  }
  const deadline = Date.now() + 60_000
  let shown = ''
  while (!/certificate\s+ACME, valid; expires \d{4}-.*; renews \d{4}-/.test(shown)) {
    if (Date.now() > deadline) return t.fail(`routes get never showed a valid certificate:\n${shown}\n${stderr}`)
    await delay(300)
    shown = (await mezu(['routes', 'get', 'shop.pebble.test'], {env})).stdout
  }
  const json = (await mezu(['routes', 'get', 'shop.pebble.test', '--json'], {env})).json()
  t.like(json.acme, {status: 'valid', reason: null, challenge: 'tls-alpn-01'})
})
