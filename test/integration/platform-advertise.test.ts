import {join} from 'node:path'
import tls from 'node:tls'
import test from 'ava'
import {inviteLink} from '../../platform/control/user-rules.js'
import {register, renew} from '../../src/warpgate/registration.js'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {registrationToken} from '../helpers/tunnel.js'

const start = (dataDir: string, args: string[]) => mezu(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', ...args], {env: {MEZU_MASTER_KEY: ''}})

test('mezu platform start refuses a wildcard --host without an advertised tunnel address, saying what to pass, and creates nothing', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  for (const host of ['0.0.0.0', '::']) {
    const r = await start(dataDir, ['--host', host])
    t.is(r.code, 2, r.stderr)
    t.is(r.stdout, '')
    t.regex(r.stderr, new RegExp(`^Error: --host ${host.replace(/\./g, '\\.')} listens on every interface, but Warpgates need an address they can reach: pass --advertise-tunnel-url tls://HOST:PORT`))
  }
  const json = await start(dataDir, ['--host', '0.0.0.0', '--json'])
  t.is(json.code, 2)
  t.like(JSON.parse(json.stderr).error, {code: 'usage'})
  t.regex(JSON.parse(json.stderr).error.message, /--advertise-tunnel-url/)
  t.is((await mezu(['platform', 'status', '--data-dir', dataDir, '--json'])).json().initialized, false)
})

test('advertised addresses that cannot be handed out are refused naming the flag', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const cases: Array<[string[], RegExp]> = [
    [['--advertise-tunnel-url', 'https://mezu.example.test:7444'], /--advertise-tunnel-url must be a URL like tls:\/\/203\.0\.113\.10:7444, got "https:\/\/mezu\.example\.test:7444": its scheme must be tls/],
    [['--advertise-tunnel-url', 'mezu.example.test:7444'], /--advertise-tunnel-url must be a URL like/],
    [['--advertise-tunnel-url', 'tls://0.0.0.0:7444'], /--advertise-tunnel-url .*a wildcard address cannot be connected to/],
    [['--advertise-api-url', 'https://mezu.example.test/api'], /--advertise-api-url .*without a path or query/],
    [['--advertise-api-url', 'not a url'], /--advertise-api-url must be a URL like https:\/\/mezu\.example\.com:7443/],
    [['--advertise-edge-port', '0'], /advertise-edge-port/],
  ]
  for (const [args, named] of cases) {
    const r = await start(dataDir, args)
    t.is(r.code, 2, args.join(' '))
    t.regex(r.stderr, named)
  }
})

test('registration replies, route URLs, invitation links and the private-CA certificates use the advertised addresses', async (t) => {
  const platform = await startTestPlatform(t, {advertise: {apiUrl: 'https://mezu.example.test:7443/', tunnelUrls: ['tls://203.0.113.10', 'tls://edge2.example.test:9444'], edgePort: 443}})
  const tunnels = [`tls://203.0.113.10:${platform.ports.tunnel}`, 'tls://edge2.example.test:9444']
  t.is(platform.apiUrl, 'https://mezu.example.test:7443')
  t.deepEqual(platform.tunnelUrls, tunnels)
  t.is(platform.tunnelUrl, tunnels[0])
  t.is(platform.edgeUrl, 'https://mezu.localhost', 'port 443 is left out')

  const scope = await addProjectEnv(platform)
  await addRoute(platform, {...scope, hostname: 'far.mezu.localhost', service: 'far'})
  const {token} = await registrationToken(platform, scope, 'far')
  const creds = await register({apiUrl: `https://127.0.0.1:${platform.ports.api}`, caPem: platform.caPem}, token)
  t.deepEqual(creds.info.tunnelUrls, tunnels)
  t.is(creds.info.tunnelUrl, tunnels[0])
  t.deepEqual(creds.info.tunnelEdges, [{edge: 'local', urls: tunnels}], 'the addresses of one edge are one edge')
  t.is(creds.info.edgeUrl, 'https://mezu.localhost')
  t.deepEqual(creds.info.urls, ['https://far.mezu.localhost/'])
  const renewed = await renew({apiUrl: `https://127.0.0.1:${platform.ports.api}`, caPem: platform.caPem}, creds)
  t.deepEqual(renewed.info.tunnelUrls, tunnels, 'renewal hands out the same addresses')
  t.deepEqual(renewed.info.tunnelEdges, [{edge: 'local', urls: tunnels}])
  t.is(inviteLink(platform.ctx, 'abc'), 'https://auth.mezu.localhost/invite?code=abc')
  const owner = await loginToken(`https://127.0.0.1:${platform.ports.api}`, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const route = await api(`https://127.0.0.1:${platform.ports.api}`, platform.caPem, 'GET', '/v1/routes/far.mezu.localhost', {token: owner})
  t.is(route.body.url, 'https://far.mezu.localhost/')
  const me = await api(`https://127.0.0.1:${platform.ports.api}`, platform.caPem, 'GET', '/v1/me', {token: owner})
  t.is(me.body.apiUrl, 'https://mezu.example.test:7443')

  const names = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({host: '127.0.0.1', port: platform.ports.api, servername: 'mezu.example.test', ca: platform.caPem}, () => {
      resolve(s.getPeerCertificate().subjectaltname ?? '')
      s.end()
    })
    s.on('error', reject)
  })
  for (const name of ['DNS:mezu.example.test', 'DNS:edge2.example.test', 'IP Address:203.0.113.10', 'DNS:localhost', 'IP Address:127.0.0.1']) t.true(names.includes(name), `${name} in ${names}`)
})
