import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'
import {parseConfigText} from '../../platform/config-file.js'
import {buildConfig, ConfigError, resolvePlatformConfig} from '../../platform/config.js'
import {REFERENCE_END, REFERENCE_START, renderConfigReference} from '../../platform/settings-doc.js'
import {checkValue, envName, fromText, SETTINGS} from '../../platform/settings.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

test('the README\'s config reference is the one generated from the settings schema (npm run docs:config)', (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf(REFERENCE_START)
  const end = readme.indexOf(REFERENCE_END)
  t.true(start >= 0 && end > start, 'README.md has the config reference markers')
  t.is(readme.slice(start + REFERENCE_START.length, end).trim(), renderConfigReference().trim(), 'README config reference is stale: run npm run docs:config')
})

test('every setting has a unique key, variable and flag, and a default its own schema accepts', (t) => {
  const unique = (values: string[]) => t.is(new Set(values).size, values.length, values.join(' '))
  unique(SETTINGS.map((s) => s.key))
  unique(SETTINGS.map((s) => envName(s)))
  unique(SETTINGS.flatMap((s) => (s.flag ? [s.flag] : [])))
  for (const s of SETTINGS) {
    t.true(s.description.length > 0, s.key)
    if (s.default !== undefined) t.true(checkValue(s, s.default).ok, `default of ${s.key}`)
  }
})

test('variables are the key with dots and camelCase humps as underscores, upper-cased, under MEZU_PLATFORM_', (t) => {
  const env = (key: string) => envName(SETTINGS.find((s) => s.key === key)!)
  t.is(env('edge.requestTimeoutMs'), 'MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS')
  t.is(env('loginLimit.ipLockAfter'), 'MEZU_PLATFORM_LOGIN_LIMIT_IP_LOCK_AFTER')
  t.is(env('edge.streamResets.perSecond'), 'MEZU_PLATFORM_EDGE_STREAM_RESETS_PER_SECOND')
  t.is(env('masterKey'), 'MEZU_MASTER_KEY')
})

test('buildConfig takes every default from the schema', (t) => {
  const cfg = buildConfig({dataDir: '/unused'})
  for (const s of SETTINGS) {
    if (s.default === undefined) continue
    t.deepEqual(s.key.split('.').reduce<any>((node, part) => node[part], cfg), s.default, s.key)
  }
})

test('nested groups and dotted keys in the file both name settings, with their lines', (t) => {
  const got = parseConfigText('/etc/mezu/p.yaml', 'host: 0.0.0.0\nedge:\n  maxUrlBytes: 4096\n  streamResets:\n    perSecond: 2.5\nedge.requestTimeoutMs: 0\ndeviceLogin:\n')
  t.deepEqual(got, [
    {key: 'host', value: '0.0.0.0', line: 1},
    {key: 'edge.maxUrlBytes', value: 4096, line: 3},
    {key: 'edge.streamResets.perSecond', value: 2.5, line: 5},
    {key: 'edge.requestTimeoutMs', value: 0, line: 6},
  ])
  t.deepEqual(parseConfigText('/x.yaml', '# nothing set\n'), [])
})

test('file errors name the file, the line and the key in one sentence', (t) => {
  const refuses = (text: string, message: string) => t.is(t.throws(() => parseConfigText('/etc/p.yaml', text), {instanceOf: ConfigError})?.message, message, text)
  refuses('edge:\n  maxUrlByte: 1\n', '/etc/p.yaml:2: unknown setting "edge.maxUrlByte"; did you mean "edge.maxUrlBytes"?')
  refuses('requestTimeoutMs: 1\n', '/etc/p.yaml:1: unknown setting "requestTimeoutMs"; did you mean "edge.requestTimeoutMs"?')
  refuses('colour: blue\n', '/etc/p.yaml:1: unknown setting "colour" (`mezu platform config` lists them)')
  refuses('\nedge:\n  maxUrlBytes: "8k"\n', '/etc/p.yaml:3: edge.maxUrlBytes must be a whole number from 256 to 1048576, got "8k"')
  refuses('apiPort: 70000\n', '/etc/p.yaml:1: apiPort must be a whole number from 0 to 65535, got 70000')
  refuses('edge:\n  maxConcurrentStreams: 1.5\n', '/etc/p.yaml:2: edge.maxConcurrentStreams must be a whole number from 1 to 1000, got 1.5')
  refuses('passwordStrength: strong\n', '/etc/p.yaml:1: passwordStrength must be one of interactive, moderate, got "strong"')
  refuses('domain: "not a domain"\n', '/etc/p.yaml:1: domain must be a DNS name like mezu.localhost, got "not a domain"')
  refuses('edge: 5\n', '/etc/p.yaml:1: edge must be a mapping of settings (edge.…), got 5')
  refuses('edge:\n  maxUrlBytes:\n    deep: 1\n', '/etc/p.yaml:2: edge.maxUrlBytes must be a whole number from 256 to 1048576, got a mapping')
  refuses('host: a\nhost: b\n', '/etc/p.yaml:2: the key "host" is given twice')
  refuses('edge.maxUrlBytes: 1024\nedge:\n  maxUrlBytes: 2048\n', '/etc/p.yaml:3: edge.maxUrlBytes is already set on line 1')
  refuses('masterKey: v1:abc\n', '/etc/p.yaml:1: masterKey cannot be set in the config file; set MEZU_MASTER_KEY')
  refuses('- a\n- b\n', '/etc/p.yaml:1: the file must be a mapping of settings (key: value lines), got a list')
  t.regex(t.throws(() => parseConfigText('/etc/p.yaml', 'edge:\n  maxUrlBytes: [1\n'))!.message, /^\/etc\/p\.yaml:\d+: this is not valid YAML at the key "maxUrlBytes"/)
})

test('flags beat variables, variables beat the file, the file beats defaults; each value says where it came from', (t) => {
  const dir = join(ROOT, 'test', 'fixtures')
  const r = resolvePlatformConfig({
    flags: {'edge-port': '0', 'data-dir': dir},
    configFile: undefined,
    env: {MEZU_PLATFORM_EDGE_PORT: '9000', MEZU_PLATFORM_API_PORT: '9001', MEZU_PLATFORM_EDGE_MAX_URL_BYTES: '', MEZU_MASTER_KEY: 'v1:secret'},
  })
  const by = (key: string) => r.settings.find((s) => s.key === key)!
  t.is(r.config.edgePort, 0)
  t.like(by('edgePort'), {value: 0, source: 'flag', origin: '--edge-port'})
  t.like(by('apiPort'), {value: 9001, source: 'env', origin: 'MEZU_PLATFORM_API_PORT'})
  t.like(by('edge.maxUrlBytes'), {value: 8192, source: 'default', origin: null}, 'an empty variable is unset')
  t.like(by('masterKey'), {value: null, source: 'env', secret: true, isSet: true})
  t.is(r.config.masterKey, 'v1:secret')
  t.false(r.configFile.found)
})

test('unknown or bad MEZU_PLATFORM_ variables and bad flag values are refused naming them', (t) => {
  const refuses = (input: {flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv}, message: string) =>
    t.is(t.throws(() => resolvePlatformConfig({flags: {'data-dir': '/nonexistent', ...input.flags}, env: input.env ?? {}}), {instanceOf: ConfigError})?.message, message)
  refuses({env: {MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT: '5'}}, 'MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT: unknown setting variable; did you mean MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS?')
  refuses({env: {MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS: '5s'}}, 'MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS: edge.requestTimeoutMs must be a whole number from 0 to 86400000, got "5s"')
  refuses({env: {MEZU_PLATFORM_MASTER_KEY: 'v1:x'}}, 'MEZU_PLATFORM_MASTER_KEY is not read; masterKey comes from MEZU_MASTER_KEY')
  refuses({flags: {'api-port': '-1'}}, '--api-port: apiPort must be a whole number from 0 to 65535, got -1')
  refuses({flags: {domain: 'a b'}}, '--domain: domain must be a DNS name like mezu.localhost, got "a b"')
})

test('an explicit config file must exist; the default one may be absent', (t) => {
  t.is(t.throws(() => resolvePlatformConfig({flags: {'data-dir': '/nonexistent'}, configFile: '/nonexistent/p.yaml', env: {}}))?.message, 'the config file /nonexistent/p.yaml does not exist')
  t.notThrows(() => resolvePlatformConfig({flags: {'data-dir': '/nonexistent'}, env: {}}))
})

test('the domain is lower-cased wherever it comes from', (t) => {
  t.is(resolvePlatformConfig({flags: {'data-dir': '/nonexistent', domain: 'Dev.Example.TEST'}, env: {}}).config.domain, 'dev.example.test')
})

test('a list setting of URLs takes a comma-separated variable or repeated flags and checks each address', (t) => {
  const s = {key: 'advertise.tunnelUrls', type: 'list', schemes: ['tls'], description: 'x'} as const
  t.deepEqual(fromText(s, 'tls://a.example:7444, tls://b.example:7444'), ['tls://a.example:7444', 'tls://b.example:7444'])
  t.deepEqual(fromText(s, ['tls://a.example:7444']), ['tls://a.example:7444'])
  t.deepEqual(checkValue(s, ['tls://a.example:7444']), {ok: true, value: ['tls://a.example:7444']})
  t.deepEqual(checkValue(s, ['https://a.example']), {ok: false, problem: 'must be a list of URLs starting with tls://, got a list'})
  t.false(checkValue(s, 'tls://a.example').ok)
})

test('the addresses and certificate files are settings: from the file (paths relative to it), variables or flags, into PlatformConfig.advertise and .certificates', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-settings-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const file = join(dir, 'platform.yaml')
  writeFileSync(file, 'host: 0.0.0.0\nadvertise:\n  tunnelUrls:\n    - tls://Edge.Example.test:7444\n    - tls://edge.example.test:7444\n  edgePort: 443\ntls:\n  certFile: certs/full.pem\n  keyFile: /etc/key.pem\ncertificates.checkIntervalMs: 1000\n')
  const r = resolvePlatformConfig({flags: {'data-dir': dir, 'api-tls-cert': 'api.pem', 'api-tls-key': 'api.key'}, configFile: file, env: {MEZU_PLATFORM_ADVERTISE_API_URL: 'https://Mezu.Example.test:443/'}})
  t.deepEqual(r.config.advertise, {apiUrl: 'https://mezu.example.test', tunnelUrls: ['tls://edge.example.test:7444'], edgePort: 443})
  t.deepEqual(r.config.certificates, {
    edge: {certFile: join(dir, 'certs', 'full.pem'), keyFile: '/etc/key.pem'},
    api: {certFile: resolve('api.pem'), keyFile: resolve('api.key')},
    checkIntervalMs: 1000,
  })
  const by = (key: string) => r.settings.find((s) => s.key === key)!
  t.like(by('advertise.tunnelUrls'), {source: 'file', origin: `${file}:3`})
  t.like(by('apiTls.certFile'), {value: resolve('api.pem'), source: 'flag', origin: '--api-tls-cert'})
  t.like(by('advertise.apiUrl'), {value: 'https://mezu.example.test', source: 'env'})
  const none = resolvePlatformConfig({flags: {'data-dir': '/nonexistent'}, env: {MEZU_PLATFORM_ADVERTISE_TUNNEL_URLS: 'tls://a:1,tls://b:2'}}).config
  t.deepEqual(none.advertise, {tunnelUrls: ['tls://a:1', 'tls://b:2']})
  t.deepEqual(none.certificates, {checkIntervalMs: 30_000}, 'no pair given: the private CA serves')
})

test('address and certificate errors name the flag as issue 9 had them, else the file and line or the variable, and the key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-settings-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const file = join(dir, 'p.yaml')
  const refuses = (yaml: string, input: {flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv}, message: string, code: 'bad_config' | 'usage' = 'bad_config') => {
    writeFileSync(file, yaml)
    const e = t.throws(() => resolvePlatformConfig({flags: {'data-dir': dir, ...input.flags}, configFile: file, env: input.env ?? {}}), {instanceOf: ConfigError}, message)
    t.is(e?.message, message)
    t.is(e?.code, code, message)
  }
  refuses('', {flags: {'advertise-tunnel-url': ['https://a.test:7444']}}, '--advertise-tunnel-url must be a URL like tls://203.0.113.10:7444, got "https://a.test:7444": its scheme must be tls')
  refuses('advertise:\n  tunnelUrls: [tls://a.test, "tls://0.0.0.0"]\n', {}, `${file}:2: advertise.tunnelUrls must be a URL like tls://203.0.113.10:7444, got "tls://0.0.0.0": a wildcard address cannot be connected to`)
  refuses('advertise:\n  tunnelUrls: tls://a.test\n', {}, `${file}:2: advertise.tunnelUrls must be a list of URLs like tls://203.0.113.10:7444, got "tls://a.test"`)
  refuses('', {env: {MEZU_PLATFORM_ADVERTISE_API_URL: 'https://a.test/api'}}, 'MEZU_PLATFORM_ADVERTISE_API_URL: advertise.apiUrl must be a URL like https://mezu.example.com:7443, got "https://a.test/api": give the address only, without a path or query')
  refuses('advertise.edgePort: 0\n', {}, `${file}:1: advertise.edgePort must be a whole number from 1 to 65535, got 0`)
  refuses('certificates:\n  checkIntervalMs: 10\n', {}, `${file}:2: certificates.checkIntervalMs must be a whole number from 100 to 86400000, got 10`)
  refuses('', {flags: {'tls-cert': 'c.pem'}}, '--tls-cert and --tls-key go together: pass both', 'usage')
  refuses('apiTls:\n  keyFile: k.pem\n', {}, `${file}:2: apiTls.certFile and apiTls.keyFile go together: set both`, 'usage')
  refuses('', {env: {MEZU_PLATFORM_TLS_CERT_FILE: '/c.pem'}}, 'MEZU_PLATFORM_TLS_CERT_FILE: tls.certFile and tls.keyFile go together: set both', 'usage')
  refuses('', {flags: {host: '0.0.0.0'}}, '--host 0.0.0.0 listens on every interface, but Warpgates need an address they can reach: pass --advertise-tunnel-url tls://HOST:PORT with this server\'s public name or IP (and --advertise-api-url https://HOST:PORT for links and the CLI)', 'usage')
  refuses('\nhost: "::"\n', {}, `${file}:2: host :: listens on every interface, but Warpgates need an address they can reach: set advertise.tunnelUrls (or pass --advertise-tunnel-url) to tls://HOST:PORT with this server's public name or IP (and advertise.apiUrl to https://HOST:PORT for links and the CLI)`, 'usage')
  writeFileSync(file, 'host: 0.0.0.0\n')
  t.notThrows(() => resolvePlatformConfig({flags: {'data-dir': dir, 'advertise-tunnel-url': ['tls://203.0.113.10']}, configFile: file, env: {}}), 'a flag may supply the address a wildcard host in the file needs')
})
