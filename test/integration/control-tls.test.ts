import {X509Certificate} from 'node:crypto'
import {connect, type TLSSocket} from 'node:tls'
import test from 'ava'
import {startTestPlatform} from '../helpers/platform.js'

function handshake(port: number, opts: {ca?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; servername?: string}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({host: '127.0.0.1', port, ca: opts.ca, maxVersion: opts.maxVersion, servername: opts.servername}, () => resolve(socket))
    socket.on('error', reject)
  })
}

test('the control API speaks TLS 1.3 only, with a certificate from the platform CA', async (t) => {
  const p = await startTestPlatform(t)
  const ok = await handshake(p.ports.api, {ca: p.caPem, servername: 'localhost'})
  t.is(ok.getProtocol(), 'TLSv1.3')
  t.true(ok.authorized)
  const leaf = new X509Certificate(ok.getPeerCertificate().raw)
  ok.destroy()
  const ca = new X509Certificate(p.caPem)
  t.true(leaf.checkIssued(ca))
  t.true(leaf.verify(ca.publicKey))
  t.false(leaf.ca)
  t.true(leaf.checkIP('127.0.0.1') !== undefined)
  t.true(leaf.checkHost('localhost') !== undefined)

  await t.throwsAsync(handshake(p.ports.api, {ca: p.caPem, maxVersion: 'TLSv1.2'}), undefined, 'TLS 1.2 is refused')
  const other = await startTestPlatform(t)
  const err = await t.throwsAsync(handshake(p.ports.api, {ca: other.caPem, servername: 'localhost'}))
  t.regex((err as Error & {code?: string}).code ?? '', /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/, "another platform's CA does not verify it")
})
