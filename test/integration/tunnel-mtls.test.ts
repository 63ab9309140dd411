import test from 'ava'
import selfsigned from 'selfsigned'
import {warpgateUri} from '../../src/protocol/identity.js'
import {api, loginToken} from '../helpers/api.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {probeTunnel} from '../helpers/tls.js'
import {edgeRequest, startWarpgate, warpgateEvent} from '../helpers/tunnel.js'

test('the tunnel listener accepts a registered Warpgate and refuses no certificate, a self-signed one, a revoked one and TLS 1.2', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = addProjectEnv(platform)
  const origin = await startOrigin(t)
  addRoute(platform, {...scope, hostname: 'hello.mezu.localhost', service: 'hello'})
  const {wg, warpgateId} = await startWarpgate(t, platform, scope, 'hello', origin.url, {connections: 2})
  const creds = wg.credentials!
  const port = platform.ports.tunnel!

  const good = await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem})
  t.true(good.accepted, `a registered Warpgate's certificate must be accepted: ${good.error}`)

  const none = await probeTunnel(port, platform.caPem)
  t.false(none.accepted, 'no client certificate must be refused')
  t.truthy(none.error)

  // Self-signed, and even naming the real Warpgate id: the CA is what counts.
  const forged = await selfsigned.generate([{name: 'commonName', value: warpgateId}], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [{name: 'extKeyUsage', clientAuth: true}, {name: 'subjectAltName', altNames: [{type: 6, value: warpgateUri(warpgateId)}]}],
  } as never)
  const selfSigned = await probeTunnel(port, platform.caPem, {cert: forged.cert, key: forged.private})
  t.false(selfSigned.accepted, 'a self-signed certificate must be refused')

  const tls12 = await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem, maxVersion: 'TLSv1.2'})
  t.false(tls12.accepted, 'TLS 1.2 must be refused on the tunnel port')
  t.regex(tls12.errorCode ?? tls12.error ?? '', /PROTOCOL_VERSION|protocol version/i)

  // Revoking closes the live connections within a second and refuses the certificate from then on.
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const down = warpgateEvent(wg, (e) => e.type === 'disconnected' && e.connections === 0, 'both connections closed', 1000)
  const revoked = await api(platform.apiUrl, platform.caPem, 'POST', `/v1/warpgates/${warpgateId}/revoke`, {token, body: {}})
  t.is(revoked.status, 200)
  t.is(revoked.body.status, 'revoked')
  await down
  const after = await probeTunnel(port, platform.caPem, {cert: creds.certPem, key: creds.keyPem})
  t.false(after.accepted, 'a revoked Warpgate\'s certificate must be refused')
  const offline = await edgeRequest(platform, 'hello.mezu.localhost', '/hello')
  t.is(offline.status, 503)
  const refusedAgain = await warpgateEvent(wg, (e) => e.type === 'disconnected' && e.reason.kind === 'refused', 'a refused reconnect')
  t.is(refusedAgain.type, 'disconnected')
})
