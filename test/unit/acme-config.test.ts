import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {LETS_ENCRYPT_DIRECTORY} from '../../platform/acme-config.js'
import {buildConfig, ConfigError} from '../../platform/config.js'
import {renewalTime, retryDelay} from '../../platform/control/acme/schedule.js'
import {tempDir} from '../helpers/platform.js'

const base = {dataDir: '/unused', domain: 'example.com'}

test('ACME is off unless an email is given, and then defaults to Let\'s Encrypt, TLS-ALPN-01 only, renewal at two thirds', (t) => {
  t.is(buildConfig(base).acme, undefined)
  const acme = buildConfig({...base, acme: {email: 'ops@example.com', directoryUrl: undefined, httpPort: undefined}}).acme!
  t.like(acme, {email: 'ops@example.com', directoryUrl: LETS_ENCRYPT_DIRECTORY, httpPort: null, caFile: null, challenges: ['tls-alpn-01'], retry: {minMs: 60_000, maxMs: 3_600_000}})
  t.is(acme.renewAfter, 2 / 3)
  t.deepEqual(buildConfig({...base, acme: {email: 'ops@example.com', httpPort: 80}}).acme!.challenges, ['tls-alpn-01', 'http-01'])
})

test('bad ACME settings are refused in one sentence naming the flag', (t) => {
  const dir = tempDir(t)
  const notPem = join(dir, 'not.pem')
  writeFileSync(notPem, 'hello')
  const cases: Array<[Record<string, unknown>, RegExp, string?]> = [
    [{email: 'nobody'}, /^--acme-email must be an email address/],
    [{email: 'a@b.co', directoryUrl: 'http://ca.example/dir'}, /^--acme-directory must be an https:\/\/ URL/],
    [{email: 'a@b.co', directoryUrl: 'not a url'}, /^--acme-directory must be an https:\/\/ URL/],
    [{email: 'a@b.co', httpPort: 70_000}, /^--acme-http-port must be a port number/],
    [{email: 'a@b.co', caFile: join(dir, 'missing.pem')}, /^--acme-ca-file .*missing\.pem cannot be read: ENOENT/],
    [{email: 'a@b.co', caFile: notPem}, /^--acme-ca-file .*not\.pem holds no PEM certificate/],
    [{email: 'a@b.co', challenges: ['http-01']}, /^the http-01 challenge needs --acme-http-port/],
    [{email: 'a@b.co', challenges: ['dns-01']}, /^acme\.challenges must list/],
    [{email: 'a@b.co', renewAfter: 1}, /^acme\.renewAfter must be a fraction/],
    [{email: 'a@b.co'}, /^--acme-email needs a public --domain: .*mezu\.localhost/, 'mezu.localhost'],
  ]
  for (const [acme, message, domain] of cases) {
    const e = t.throws(() => buildConfig({...base, domain: domain ?? base.domain, acme: acme as never}), {instanceOf: ConfigError}, JSON.stringify(acme))
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
