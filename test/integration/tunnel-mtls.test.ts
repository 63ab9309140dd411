import test, {type ExecutionContext} from 'ava'
import selfsigned from 'selfsigned'
import {warpgateUri} from '../../src/protocol/identity.js'
import {api, loginToken} from '../helpers/api.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {probeTunnel} from '../helpers/tls.js'
import {edgeRequest, startWarpgate, warpgateEvent} from '../helpers/tunnel.js'

/** A platform with one connected Warpgate for service "hello" and its credentials. */
async function setup(t: ExecutionContext) {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'hello.mezu.localhost', service: 'hello'})
  const {wg, warpgateId} = await startWarpgate(t, platform, scope, 'hello', origin.url, {connections: 2})
  return {platform, wg, warpgateId, creds: wg.credentials!, port: platform.ports.tunnel!}
}

test('accepts a registered Warpgate\'s certificate and refuses a client without a certificate', async (t) => {
  const {platform, creds, port} = await setup(t)
  const good = await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem})
  t.true(good.accepted, `a registered Warpgate's certificate must be accepted: ${good.error}`)
  const none = await probeTunnel(port, platform.caPem)
  t.false(none.accepted)
  t.truthy(none.error, 'the handshake fails')
})

test('refuses a self-signed certificate even when it names a registered Warpgate', async (t) => {
  const {platform, warpgateId, port} = await setup(t)
  const forged = await selfsigned.generate([{name: 'commonName', value: warpgateId}], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [{name: 'extKeyUsage', clientAuth: true}, {name: 'subjectAltName', altNames: [{type: 6, value: warpgateUri(warpgateId)}]}],
  } as never)
  const probe = await probeTunnel(port, platform.caPem, {cert: forged.cert, key: forged.private})
  t.false(probe.accepted)
})

test('refuses TLS 1.2 on the tunnel port even with a valid certificate', async (t) => {
  const {platform, creds, port} = await setup(t)
  const probe = await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem, maxVersion: 'TLSv1.2'})
  t.false(probe.accepted)
  t.regex(probe.errorCode ?? probe.error ?? '', /PROTOCOL_VERSION|protocol version/i, 'refused by the server\'s protocol-version alert')
})

test('revoking closes the Warpgate\'s live connections within a second and refuses its certificate from then on', async (t) => {
  const {platform, wg, warpgateId, creds, port} = await setup(t)
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const down = warpgateEvent(wg, (e) => e.type === 'disconnected' && e.connections === 0, 'both connections closed', 1000)
  const revoked = await api(platform.apiUrl, platform.caPem, 'POST', `/v1/warpgates/${warpgateId}/revoke`, {token, body: {}})
  t.is(revoked.status, 200)
  t.is(revoked.body.status, 'revoked')
  await down
  t.false((await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem})).accepted)
  t.is((await edgeRequest(platform, 'hello.mezu.localhost', '/hello')).status, 503)
  const again = await warpgateEvent(wg, (e) => e.type === 'disconnected' && e.reason.kind === 'refused', 'a refused reconnect')
  t.is(again.type, 'disconnected')
})
