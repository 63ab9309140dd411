import test from 'ava'
import {buildConfig, ConfigError} from '../../platform/config.js'

const defaults = buildConfig({dataDir: '/unused'}).loginLimit

test('the failed-login limits default to locking an address out of an account, not the account', (t) => {
  t.deepEqual(defaults, {slowAfter: 3, lockAfter: 10, ipLockAfter: 30, windowMs: 15 * 60_000, lockMs: 15 * 60_000, delayMs: 250, maxDelayMs: 5000})
})

test('failed-login limits that cannot work are refused in one sentence naming the loginLimit setting', (t) => {
  for (const bad of [{lockAfter: 0}, {ipLockAfter: 1.5}, {slowAfter: -1}, {windowMs: 0}, {lockMs: Number.NaN}, {delayMs: -1}, {maxDelayMs: 120_000}]) {
    const e = t.throws(() => buildConfig({dataDir: '/unused', loginLimit: {...defaults, ...bad}}), {instanceOf: ConfigError}, JSON.stringify(bad))
    t.regex(e?.message ?? '', /^loginLimit\.\w+ must be /)
  }
})

test('advertised addresses are normalised: no trailing slash, duplicates dropped, a tunnel URL may leave its port to the bound one', (t) => {
  const c = buildConfig({dataDir: '/unused', host: '0.0.0.0', advertise: {apiUrl: 'https://Mezu.Example.com:443/', tunnelUrls: ['tls://203.0.113.10:7444', 'tls://203.0.113.10:7444', 'tls://[2001:db8::1]'], edgePort: 443}})
  t.deepEqual(c.advertise, {apiUrl: 'https://mezu.example.com', tunnelUrls: ['tls://203.0.113.10:7444', 'tls://[2001:db8::1]'], edgePort: 443})
  t.deepEqual(buildConfig({dataDir: '/unused'}).advertise, {}, 'nothing advertised by default: the bound addresses are used')
})

test('a wildcard host in any spelling needs an advertised tunnel address', (t) => {
  for (const host of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0']) {
    const e = t.throws(() => buildConfig({dataDir: '/unused', host}), {instanceOf: ConfigError}, host)
    t.regex(e?.message ?? '', /pass --advertise-tunnel-url tls:\/\/HOST:PORT/)
  }
  t.notThrows(() => buildConfig({dataDir: '/unused', host: '10.0.0.5'}), 'a specific address is what Warpgates are told')
})

test('a certificate file without its key is refused naming both flags', (t) => {
  const e = t.throws(() => buildConfig({dataDir: '/unused', certificates: {api: {certFile: '/c.pem', keyFile: ''}, checkIntervalMs: 1000}}), {instanceOf: ConfigError})
  t.is(e?.message, '--api-tls-cert and --api-tls-key go together: pass both')
})
