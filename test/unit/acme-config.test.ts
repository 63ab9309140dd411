import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {LETS_ENCRYPT_DIRECTORY} from '../../platform/acme-config.js'
import {buildConfig, ConfigError, resolvePlatformConfig} from '../../platform/config.js'
import {renewalTime, retryDelay} from '../../platform/control/acme/schedule.js'
import {tempDir} from '../helpers/platform.js'

const base = {dataDir: '/unused', domain: 'example.com'}

test('ACME is off unless an email is given, and then defaults to Let\'s Encrypt, TLS-ALPN-01 only, renewal at two thirds', (t) => {
  t.is(buildConfig(base).acme.email, undefined)
  const resolve = (flags: Record<string, unknown>) => resolvePlatformConfig({flags: {'data-dir': tempDir(t), domain: 'example.com', ...flags}, env: {}}).config
  t.is(resolve({}).acme.email, undefined)
  const acme = resolve({'acme-email': 'ops@example.com'}).acme!
  t.like(acme, {email: 'ops@example.com', directoryUrl: LETS_ENCRYPT_DIRECTORY, httpPort: undefined, caFile: undefined, challenges: ['tls-alpn-01'], retry: {minMs: 60_000, maxMs: 3_600_000}})
  t.is(LETS_ENCRYPT_DIRECTORY, 'https://acme-v02.api.letsencrypt.org/directory')
  t.is(acme.renewAfter, 2 / 3)
  t.deepEqual(resolve({'acme-email': 'ops@example.com', 'acme-http-port': '80'}).acme!.challenges, ['tls-alpn-01', 'http-01'])
})

test('bad ACME settings are refused in one sentence naming the flag', (t) => {
  const dir = tempDir(t)
  const notPem = join(dir, 'not.pem')
  writeFileSync(notPem, 'hello')
  const cases: Array<[Record<string, unknown>, RegExp, string?]> = [
    [{email: 'nobody'}, /^acme\.email must be an email address, got "nobody"/],
    [{email: 'a@b.co', directoryUrl: 'http://ca.example/dir'}, /^acme\.directoryUrl must be a URL starting with https:\/\//],
    [{email: 'a@b.co', directoryUrl: 'not a url'}, /^acme\.directoryUrl must be a URL/],
    [{email: 'a@b.co', httpPort: 70_000}, /^acme\.httpPort must be a whole number from 0 to 65535/],
    [{email: 'a@b.co', caFile: join(dir, 'missing.pem')}, /^acme\.caFile \(--acme-ca-file\) .*missing\.pem cannot be read: ENOENT/],
    [{email: 'a@b.co', caFile: notPem}, /^acme\.caFile \(--acme-ca-file\) .*not\.pem holds no PEM certificate/],
    [{email: 'a@b.co', challenges: ['http-01']}, /^the http-01 challenge needs --acme-http-port/],
    [{email: 'a@b.co', challenges: ['dns-01']}, /^acme\.challenges must list/],
    [{email: 'a@b.co', renewAfter: 1}, /^acme\.renewAfter must be a fraction/],
    [{httpPort: 80}, /^the acme\.\* settings .* need acme\.email \(--acme-email\)/],
    [{email: 'a@b.co'}, /^acme\.email \(--acme-email\) needs a public domain: .*mezu\.localhost/, 'mezu.localhost'],
  ]
  for (const [acme, message, domain] of cases) {
    const e = t.throws(() => buildConfig({...base, domain: domain ?? base.domain, acme: {directoryUrl: LETS_ENCRYPT_DIRECTORY, ...acme} as never}), {instanceOf: ConfigError}, JSON.stringify(acme))
    t.regex(e?.message ?? '', message)
  }
})

test('a certificate is renewed after two thirds of its lifetime', (t) => {
  const day = 86_400_000
  t.is(renewalTime({notBeforeMs: 0, notAfterMs: 90 * day}, 2 / 3), 60 * day)
  t.is(renewalTime({notBeforeMs: 1000, notAfterMs: 31_000}, 2 / 3), 21_000)
})

test('failed orders are retried after 1 min, doubling, at most 1 h', (t) => {
  const retry = {minMs: 60_000, maxMs: 3_600_000}
  t.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, retry) / 60_000), [1, 2, 4, 8, 16, 32, 60, 60])
})
