import {X509Certificate} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import tls, {type DetailedPeerCertificate} from 'node:tls'
import * as x509 from '@peculiar/x509'
import test from 'ava'
import {edgeCertNames} from '../../platform/control/edge-cert-names.js'
import {createCa, issueServerCert} from '../../platform/pki/ca.js'
import {CertificateError, signEdgeCsr, signWarpgateCsr} from '../../platform/pki/csr.js'
import {controlServerIdentity, NOT_CONTROL_PLANE} from '../../src/protocol/control-identity.js'
import {createKeyAndCsr} from '../../src/protocol/csr.js'
import {CONTROL_URI} from '../../src/protocol/identity.js'
import {createTestCa, issueTestCert} from '../helpers/test-ca.js'

const HOUR = 60 * 60_000
const EDGE_ID = 'edg_0123456789abcdefghjk'
const WARPGATE_ID = 'wg_0123456789abcdefghjk'

const ca = await createCa()
const apiCert = await issueServerCert(ca, {dns: ['localhost', 'example.test', '*.example.test'], ips: ['127.0.0.1', '::1'], uris: [CONTROL_URI]})

async function edgeCert(names = edgeCertNames('example.test', {})): Promise<{certPem: string; keyPem: string}> {
  const {keyPem, csrPem} = await createKeyAndCsr('mezu-edge')
  return {certPem: (await signEdgeCsr(ca, csrPem, EDGE_ID, names, HOUR)).certPem, keyPem}
}

/** A TLS server on 127.0.0.1:0 presenting CERT (PEM chain); closed at teardown. */
async function serve(t: {teardown(fn: () => void): void}, cert: string, key: string): Promise<number> {
  const server = tls.createServer({cert, key, minVersion: 'TLSv1.3'}, (s) => s.end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return (server.address() as AddressInfo).port
}

/** Connects with the CA pinned as the API clients do; resolves 'ok' or with the refusal. */
function connect(port: number, opts: {ca: string | string[]; servername?: string; check?: 'control' | 'node'}): Promise<'ok' | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, servername: opts.servername, ca: opts.ca, minVersion: 'TLSv1.3',
      ...(opts.check === 'node' ? {} : {checkServerIdentity: controlServerIdentity(opts.ca, `https://127.0.0.1:${port}`)}),
    }, () => {
      socket.destroy()
      resolve('ok')
    })
    socket.on('error', (error) => resolve(error))
  })
}

/** The certificate a server presents, as checkServerIdentity receives it (read without verifying). */
function presented(port: number): Promise<DetailedPeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host: '127.0.0.1', port, rejectUnauthorized: false}, () => {
      const cert = socket.getPeerCertificate(true)
      socket.destroy()
      resolve(cert)
    })
    socket.on('error', reject)
  })
}

test('accepts the control API certificate the platform issues, by IP and by name', async (t) => {
  const port = await serve(t, apiCert.chainPem, apiCert.keyPem)
  t.is(await connect(port, {ca: ca.certPem}), 'ok')
  t.is(await connect(port, {ca: ca.certPem, servername: 'localhost'}), 'ok')
})

test('refuses an edge certificate from the same CA where Node alone accepts it', async (t) => {
  const edge = await edgeCert()
  const port = await serve(t, `${edge.certPem.trimEnd()}\n${ca.certPem}`, edge.keyPem)
  // the hole: chain and host name check out
  t.is(await connect(port, {ca: ca.certPem, check: 'node'}), 'ok')
  t.is(await connect(port, {ca: ca.certPem, servername: 'auth.example.test', check: 'node'}), 'ok')
  for (const servername of [undefined, 'localhost', 'auth.example.test', 'api.example.test']) {
    const refused = await connect(port, {ca: ca.certPem, servername})
    t.not(refused, 'ok', `${servername ?? '127.0.0.1'} was accepted`)
    t.is((refused as NodeJS.ErrnoException).code, NOT_CONTROL_PLANE)
    t.regex((refused as Error).message, new RegExp(`the server at https://127\\.0\\.0\\.1:${port} presents a platform certificate that is not the control plane's \\(an edge or Warpgate certificate\\?\\)`))
  }
})

test('refuses an edge certificate when the pinned file is a bundle holding the platform CA among others', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-ci-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const other = createTestCa(dir)
  const edge = await edgeCert()
  const port = await serve(t, edge.certPem, edge.keyPem)
  t.is(((await connect(port, {ca: other.certPem + ca.certPem})) as NodeJS.ErrnoException).code, NOT_CONTROL_PLANE)
  t.is(((await connect(port, {ca: [...tls.rootCertificates, ca.certPem]})) as NodeJS.ErrnoException).code, NOT_CONTROL_PLANE)
})

test('refuses a Warpgate certificate even for the name it carries', async (t) => {
  const {keyPem, csrPem} = await createKeyAndCsr()
  const wg = await signWarpgateCsr(ca, csrPem, WARPGATE_ID, HOUR)
  const port = await serve(t, wg.certPem, keyPem)
  // TLS already refuses it as a server certificate (clientAuth only) ...
  t.not(await connect(port, {ca: ca.certPem}), 'ok')
  // ... and the check refuses it on its own, although its CN matches the host asked for
  const cert = await presented(port)
  t.is(tls.checkServerIdentity(WARPGATE_ID, cert), undefined)
  t.is((controlServerIdentity(ca.certPem)(WARPGATE_ID, cert) as NodeJS.ErrnoException | undefined)?.code, NOT_CONTROL_PLANE)
})

test('refuses any certificate from the platform CA without the control mark (the in-process edge\'s, or an API certificate from before the mark)', async (t) => {
  const unmarked = await issueServerCert(ca, {dns: ['localhost'], ips: ['127.0.0.1']})
  const port = await serve(t, unmarked.chainPem, unmarked.keyPem)
  t.is(((await connect(port, {ca: ca.certPem})) as NodeJS.ErrnoException).code, NOT_CONTROL_PLANE)
})

test('a forged issuer in the served chain does not hide a certificate from the platform CA', async (t) => {
  // Same subject as the platform CA, another key: Node matches the chain it reports by name, so
  // cert.issuerCertificate is this forgery, while OpenSSL verifies against the pinned CA.
  const real = new x509.X509Certificate(ca.certPem)
  const keys = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign', 'verify'])
  const forged = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '05', name: real.subject, keys, signingAlgorithm: {name: 'ECDSA', hash: 'SHA-256'}, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + HOUR),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  })
  const unmarked = await issueServerCert(ca, {dns: ['localhost'], ips: ['127.0.0.1']})
  const port = await serve(t, `${unmarked.certPem.trimEnd()}\n${forged.toString('pem')}\n`, unmarked.keyPem)
  const cert = await presented(port)
  t.is(cert.issuerCertificate.fingerprint256, new X509Certificate(forged.toString('pem')).fingerprint256)
  t.is(await connect(port, {ca: ca.certPem, check: 'node'}), 'ok')
  t.is(((await connect(port, {ca: ca.certPem})) as NodeJS.ErrnoException).code, NOT_CONTROL_PLANE)
})

test('a certificate from another CA goes through normal verification only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-ci-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const operator = createTestCa(dir, 'Operator CA')
  const own = issueTestCert(operator, ['localhost', '127.0.0.1'], '1a2b')
  const port = await serve(t, own.certPem, own.keyPem)
  t.is(await connect(port, {ca: operator.certPem}), 'ok')
  t.is(await connect(port, {ca: operator.certPem + ca.certPem}), 'ok')
  // not signed by what is pinned, or not for the name: refused as before, by Node's own checks
  t.is(((await connect(port, {ca: ca.certPem})) as NodeJS.ErrnoException).code, 'SELF_SIGNED_CERT_IN_CHAIN')
  t.is(((await connect(port, {ca: operator.certPem, servername: 'elsewhere.test'})) as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID')
})

test('an edge certificate for the wrong host is refused by the host name check first', async (t) => {
  const edge = await edgeCert()
  const port = await serve(t, edge.certPem, edge.keyPem)
  t.is(((await connect(port, {ca: ca.certPem, servername: 'api.elsewhere.test'})) as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID')
})

test('a CSR asking for the control mark does not get it', async (t) => {
  const keys = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign', 'verify'])
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=control', keys, signingAlgorithm: {name: 'ECDSA', hash: 'SHA-256'},
    extensions: [new x509.SubjectAlternativeNameExtension([{type: 'url', value: CONTROL_URI}, {type: 'dns', value: 'localhost'}])],
  })
  t.true(csr.toString('pem').length > 0)
  for (const issued of [await signEdgeCsr(ca, csr.toString('pem'), EDGE_ID, edgeCertNames('example.test', {}), HOUR), await signWarpgateCsr(ca, csr.toString('pem'), WARPGATE_ID, HOUR)]) {
    const names = new x509.X509Certificate(issued.certPem).getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value)
    t.false(names.includes(CONTROL_URI), names.join(', '))
  }
})

test('the signer refuses the control mark among the names it is given', async (t) => {
  const {csrPem} = await createKeyAndCsr('mezu-edge')
  for (const dns of [[CONTROL_URI], ['URN:MEZU:CONTROL']]) {
    const error = await t.throwsAsync(signEdgeCsr(ca, csrPem, EDGE_ID, {dns, ips: []}, HOUR), {instanceOf: CertificateError})
    t.regex(error!.message, /control plane's mark/)
  }
})
