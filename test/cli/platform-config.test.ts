import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import tls from 'node:tls'
import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {edgeFetch} from '../helpers/identity-edge.js'
import {startPlatformProcess} from '../helpers/platform-process.js'
import {tempDir} from '../helpers/platform.js'
import {createTestCa, issueTestCert} from '../helpers/test-ca.js'

/** A data directory and a config file with `yaml` in a fresh temp dir. */
function setup(t: Parameters<typeof tempDir>[0], yaml: string, name = 'platform.yaml') {
  const dir = tempDir(t, 'mezu-config-')
  const dataDir = join(dir, 'data')
  const file = join(dir, name)
  writeFileSync(file, yaml)
  return {dir, dataDir, file}
}

// Each refusal: the start stops before anything is created, exit 2, one sentence naming file:line and the key.
const refusals: Array<[string, string, RegExp]> = [
  ['an unknown key, with the closest known one', 'host: 127.0.0.1\nedge:\n  maxUrlByte: 4096\n', /:3: unknown setting "edge\.maxUrlByte"; did you mean "edge\.maxUrlBytes"\?$/],
  ['a wrong type', 'edge:\n  requestTimeoutMs: "thirty seconds"\n', /:2: edge\.requestTimeoutMs must be a whole number from 0 to 86400000, got "thirty seconds"$/],
  ['a value out of bounds', '# limits\nedge:\n  maxConcurrentStreams: 5000\n', /:3: edge\.maxConcurrentStreams must be a whole number from 1 to 1000, got 5000$/],
  ['a group that is not a mapping', 'loginLimit: 3\n', /:1: loginLimit must be a mapping of settings \(loginLimit\.…\), got 3$/],
  ['invalid YAML', 'edge:\n  maxUrlBytes: "4096\n', /:\d+: this is not valid YAML at the key "maxUrlBytes"( \(line 2\))?: .+$/],
  ['the master key, which is never read from a file', 'masterKey: v1:AAAA\n', /:1: masterKey cannot be set in the config file; set MEZU_MASTER_KEY$/],
]

for (const [what, yaml, message] of refusals) {
  test(`platform start refuses a config file with ${what}, naming file, line and key (exit 2, nothing started)`, async (t) => {
    const {dataDir, file} = setup(t, yaml)
    const r = await mezu(['platform', 'start', '--data-dir', dataDir, '--config', file, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', '--json'])
    t.is(r.code, 2, r.stderr)
    t.is(r.stdout, '')
    const {error} = JSON.parse(r.stderr)
    t.is(error.code, 'bad_config')
    t.true(error.message.startsWith(`${file}:`), error.message)
    t.regex(error.message, message)
    t.false(existsSync(dataDir), 'the data directory was not initialised')
  })
}

test('the default config file <data-dir>/platform.yaml is read, and its errors are named the same way', async (t) => {
  const dir = tempDir(t, 'mezu-config-')
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  writeFileSync(join(dataDir, 'platform.yaml'), 'edge:\n  maxUrlBytes: 2048\n')
  const ok = await mezu(['platform', 'config', '--data-dir', dataDir, '--json'])
  t.is(ok.code, 0, ok.stderr)
  t.like(ok.json().settings.find((s: {key: string}) => s.key === 'edge.maxUrlBytes'), {value: 2048, source: 'file', origin: `${join(dataDir, 'platform.yaml')}:2`})
  writeFileSync(join(dataDir, 'platform.yaml'), 'edge:\n  maxUrlBytes: 2048\n  colour: blue\n')
  const bad = await mezu(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, new RegExp(`^Error: ${join(dataDir, 'platform.yaml')}:3: unknown setting "edge\\.colour"`))
})

test('a missing --config file is an error; a missing default file is not', async (t) => {
  const dir = tempDir(t, 'mezu-config-')
  const missing = join(dir, 'nope.yaml')
  const r = await mezu(['platform', 'start', '--data-dir', join(dir, 'data'), '--config', missing, '--json'])
  t.is(r.code, 2)
  t.deepEqual(JSON.parse(r.stderr), {error: {code: 'bad_config', message: `the config file ${missing} does not exist`}})
  const ok = await mezu(['platform', 'config', '--data-dir', join(dir, 'data'), '--json'])
  t.is(ok.code, 0, ok.stderr)
  t.deepEqual(ok.json().configFile, {path: join(dir, 'data', 'platform.yaml'), explicit: false, found: false})
})

test('bad MEZU_PLATFORM_ variables and flags are refused naming the variable or flag and the key', async (t) => {
  const dir = tempDir(t, 'mezu-config-')
  const args = ['platform', 'start', '--data-dir', join(dir, 'data'), '--json']
  const typo = await mezu(args, {env: {MEZU_PLATFORM_EDGE_MAX_URL_BYTE: '1024'}})
  t.is(typo.code, 2)
  t.is(JSON.parse(typo.stderr).error.message, 'MEZU_PLATFORM_EDGE_MAX_URL_BYTE: unknown setting variable; did you mean MEZU_PLATFORM_EDGE_MAX_URL_BYTES?')
  const bad = await mezu(args, {env: {MEZU_PLATFORM_EDGE_MAX_URL_BYTES: '10'}})
  t.is(bad.code, 2)
  t.is(JSON.parse(bad.stderr).error.message, 'MEZU_PLATFORM_EDGE_MAX_URL_BYTES: edge.maxUrlBytes must be a whole number from 256 to 1048576, got 10')
  const flag = await mezu([...args, '--edge-port', 'https'])
  t.is(flag.code, 2)
  t.is(JSON.parse(flag.stderr).error.message, '--edge-port: edgePort must be a whole number from 0 to 65535, got "https"')
  t.false(existsSync(join(dir, 'data')))
})

test('mezu platform config shows flags over variables over the file over defaults, with where each came from; the master key redacted', async (t) => {
  const {dataDir, file} = setup(t, 'apiPort: 1111\nedgePort: 2222\ntunnelPort: 3333\nedge:\n  maxUrlBytes: 1024\n')
  const masterKey = 'v1:' + Buffer.alloc(32, 7).toString('base64')
  const r = await mezu(['platform', 'config', '--data-dir', dataDir, '--config', file, '--edge-port', '6666', '--json'], {
    env: {MEZU_PLATFORM_API_PORT: '4444', MEZU_PLATFORM_EDGE_PORT: '5555', MEZU_MASTER_KEY: masterKey},
  })
  t.is(r.code, 0, r.stderr)
  const doc = r.json()
  const by = (key: string) => doc.settings.find((s: {key: string}) => s.key === key)
  t.like(by('edgePort'), {value: 6666, source: 'flag', origin: '--edge-port'})
  t.like(by('apiPort'), {value: 4444, source: 'env', origin: 'MEZU_PLATFORM_API_PORT'})
  t.like(by('tunnelPort'), {value: 3333, source: 'file', origin: `${file}:3`})
  t.like(by('edge.maxUrlBytes'), {value: 1024, source: 'file', origin: `${file}:5`})
  t.like(by('host'), {value: '127.0.0.1', source: 'default', origin: null})
  t.like(by('dataDir'), {value: dataDir, source: 'flag'})
  t.like(by('masterKey'), {value: '(redacted)', source: 'env', secret: true})
  t.false(r.stdout.includes(masterKey.slice(3)), 'the master key is not printed')
  t.deepEqual(doc.configFile, {path: file, explicit: true, found: true})

  const table = await mezu(['platform', 'config', '--data-dir', dataDir, '--config', file], {env: {MEZU_MASTER_KEY: masterKey}})
  t.is(table.code, 0, table.stderr)
  // in a pipe the table is tab-separated rows (issue 10)
  t.regex(table.stdout, /\nedge\.maxUrlBytes\t1024\tfile \(.*platform\.yaml:5\)\n/)
  t.regex(table.stdout, /\nmasterKey\t\(redacted\)\tenv \(MEZU_MASTER_KEY\)\n/)
  t.false(table.stdout.includes(masterKey.slice(3)))
})

test('a platform started with --config uses the file: edge.maxUrlBytes from it makes the edge answer 414 for a URL the default accepts; variables and flags still win', async (t) => {
  const {dir, file} = setup(t, 'domain: file.test\napiPort: 1\nedge:\n  maxUrlBytes: 512\n')
  // the file says domain file.test and API port 1; the variable overrides the domain and the
  // helper's --api-port/--edge-port 0 flags override the file's and the variable's ports
  const p = await startPlatformProcess(t, join(dir, 'data'), undefined, {args: ['--config', file], env: {MEZU_PLATFORM_DOMAIN: 'env.test', MEZU_PLATFORM_EDGE_PORT: '1'}})
  t.is(p.summary.domain, 'env.test')
  t.not(p.summary.ports.api, 1)
  t.not(p.summary.ports.edge, 1)
  const edge = {port: p.summary.ports.edge, caPem: p.caPem, domain: 'env.test'}
  // 600 bytes is far below the default limit (8 KiB): only the file's 512 refuses it
  const long = await edgeFetch(edge, 'app.env.test', '/' + 'a'.repeat(600))
  t.is(long.status, 414)
  t.is(long.headers['mezu-edge-error'], 'uri_too_long')
  const short = await edgeFetch(edge, 'app.env.test', '/' + 'a'.repeat(400))
  t.not(short.status, 414)
  t.not(short.headers['mezu-edge-error'], 'uri_too_long')
})

test('platform init checks the config file too, and refuses before creating anything', async (t) => {
  const {dataDir, file} = setup(t, 'passwordStrength: strongest\n')
  const r = await mezu(['platform', 'init', '--data-dir', dataDir, '--config', file, '--admin-email', 'owner@example.test', '--json'])
  t.is(r.code, 2)
  t.deepEqual(JSON.parse(r.stderr), {error: {code: 'bad_config', message: `${file}:1: passwordStrength must be one of interactive, moderate, got "strongest"`}})
  t.false(existsSync(dataDir))
})

test('the advertised addresses and the edge certificate files come from the config file too, its paths relative to the file', async (t) => {
  const dir = tempDir(t, 'mezu-config-')
  mkdirSync(join(dir, 'certs'))
  const ca = createTestCa(join(dir, 'certs'))
  const leaf = issueTestCert(ca, ['*.files.test', 'auth.files.test'], '0D01')
  writeFileSync(join(dir, 'certs', 'edge.pem'), leaf.certPem)
  writeFileSync(join(dir, 'certs', 'edge.key'), leaf.keyPem)
  const file = join(dir, 'platform.yaml')
  writeFileSync(file, 'domain: files.test\nadvertise:\n  tunnelUrls: [tls://edge.files.test]\n  edgePort: 443\ntls:\n  certFile: certs/edge.pem\n  keyFile: certs/edge.key\n')
  const p = await startPlatformProcess(t, join(dir, 'data'), undefined, {args: ['--config', file]})
  t.is(p.summary.edgeUrl, 'https://files.test', 'the advertised edge port 443 is left out')
  t.deepEqual(p.summary.tunnelUrls, [`tls://edge.files.test:${p.summary.ports.tunnel}`])
  const serial = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({host: '127.0.0.1', port: p.summary.ports.edge, servername: 'app.files.test', ca: ca.certPem}, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase())
      s.end()
    })
    s.on('error', reject)
  })
  t.is(serial, '0D01', 'the edge serves the certificate named in the file')
})
