import * as x509 from '@peculiar/x509'
import {createPrivateKey, randomBytes, webcrypto} from 'node:crypto'
import {CONTROL_URI, edgeIdFromSan, edgeUri, renewalMessage, warpgateIdFromSan, warpgateUri} from '../../src/protocol/identity.js'
import type {CaMaterial} from './ca.js'

x509.cryptoProvider.set(webcrypto as never)

type CryptoKey = webcrypto.CryptoKey

const ECDSA = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'} as const

/** Refusals of a CSR or a presented certificate; `reason` is shown to the Warpgate. */
export class CertificateError extends Error {
  override name = 'CertificateError'
}

export interface IssuedCert {
  certPem: string
  serial: string
  notBefore: Date
  notAfter: Date
}

let caKeyCache: {pem: string; key: Promise<CryptoKey>} | undefined

function caSigningKey(ca: CaMaterial): Promise<CryptoKey> {
  if (caKeyCache?.pem !== ca.keyPem) {
    const der = createPrivateKey(ca.keyPem).export({format: 'der', type: 'pkcs8'})
    caKeyCache = {pem: ca.keyPem, key: webcrypto.subtle.importKey('pkcs8', der, {name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign']) as Promise<CryptoKey>}
  }
  return caKeyCache.key
}

/** Parses a PEM CSR and checks its self-signature (proof that the sender holds the key). */
export async function readCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem)
  } catch {
    throw new CertificateError('csr is not a PEM certificate signing request')
  }
  const alg = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') throw new CertificateError('csr must carry an ECDSA P-256 public key')
  if (!(await csr.verify())) throw new CertificateError('csr signature does not verify')
  return csr
}

/**
 * Signs a Warpgate's CSR: a short-lived client certificate (clientAuth only) naming the Warpgate
 * in a SAN URI. Whatever subject or extensions the CSR asks for are ignored; only its key is used.
 */
export async function signWarpgateCsr(ca: CaMaterial, csrPem: string, warpgateId: string, ttlMs: number, now = Date.now()): Promise<IssuedCert> {
  return signCsr(ca, csrPem, {
    subject: `CN=${warpgateId}, O=Mezusphere Warpgate`,
    usages: [x509.ExtendedKeyUsage.clientAuth],
    names: [{type: 'url', value: warpgateUri(warpgateId)}],
  }, ttlMs, now)
}

/**
 * Signs an edge node's CSR: one certificate for its key that is both a client certificate (to
 * the control plane) and a server certificate (to end users and Warpgates), naming the edge in a
 * SAN URI beside the DNS names and IPs given. As for Warpgates, only the CSR's key is used; the
 * caller decides and checks the names.
 */
export async function signEdgeCsr(ca: CaMaterial, csrPem: string, edgeId: string, names: {dns: string[]; ips: string[]}, ttlMs: number, now = Date.now()): Promise<IssuedCert> {
  return signCsr(ca, csrPem, {
    subject: `CN=${edgeId}, O=Mezusphere edge`,
    usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    names: [
      {type: 'url', value: edgeUri(edgeId)},
      ...names.dns.map((value) => ({type: 'dns' as const, value})),
      ...names.ips.map((value) => ({type: 'ip' as const, value})),
    ],
  }, ttlMs, now)
}

async function signCsr(ca: CaMaterial, csrPem: string, what: {subject: string; usages: x509.ExtendedKeyUsageType[]; names: x509.JsonGeneralName[]}, ttlMs: number, now: number): Promise<IssuedCert> {
  // Only the control API's own certificate (issueServerCert) may carry the control mark; clients
  // of the API would take anything else that did for the control plane.
  if (what.names.some((n) => n.value.trim().toLowerCase() === CONTROL_URI)) throw new CertificateError(`${CONTROL_URI} is the control plane's mark; no CSR is signed with it`)
  const csr = await readCsr(csrPem)
  const caCert = new x509.X509Certificate(ca.certPem)
  const notBefore = new Date(now - 60_000)
  const notAfter = new Date(now + ttlMs)
  const serial = '01' + randomBytes(15).toString('hex')
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: what.subject,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ECDSA,
    publicKey: csr.publicKey,
    signingKey: await caSigningKey(ca),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(what.usages),
      new x509.SubjectAlternativeNameExtension(what.names, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  })
  return {certPem: cert.toString('pem'), serial, notBefore, notAfter}
}

/** What a presented Warpgate certificate says, once its chain and dates are checked. */
export interface VerifiedWarpgateCert {
  warpgateId: string
  publicKey: CryptoKey
  notAfter: Date
}

/** Verifies a certificate a Warpgate presents (renewal): signed by the CA, in date, naming a Warpgate. */
export async function verifyWarpgateCert(ca: CaMaterial, certPem: string, now = new Date()): Promise<VerifiedWarpgateCert> {
  const cert = await verifyIssued(ca, certPem, now)
  const warpgateId = warpgateIdFromSan(uriSans(cert))
  if (!warpgateId) throw new CertificateError('certificate does not name a Warpgate')
  return {warpgateId, publicKey: await cert.publicKey.export(), notAfter: cert.notAfter}
}

/** What a presented edge certificate says, once its chain and dates are checked. */
export interface VerifiedEdgeCert {
  edgeId: string
  serial: string
  publicKey: CryptoKey
  notAfter: Date
}

/** Verifies a certificate an edge presents (renewal): signed by the CA, in date, naming an edge. */
export async function verifyEdgeCert(ca: CaMaterial, certPem: string, now = new Date()): Promise<VerifiedEdgeCert> {
  const cert = await verifyIssued(ca, certPem, now)
  const edgeId = edgeIdFromSan(uriSans(cert))
  if (!edgeId) throw new CertificateError('certificate does not name an edge')
  return {edgeId, serial: cert.serialNumber, publicKey: await cert.publicKey.export(), notAfter: cert.notAfter}
}

async function verifyIssued(ca: CaMaterial, certPem: string, now: Date): Promise<x509.X509Certificate> {
  let cert: x509.X509Certificate
  try {
    cert = new x509.X509Certificate(certPem)
  } catch {
    throw new CertificateError('certificate is not a PEM X.509 certificate')
  }
  const caCert = new x509.X509Certificate(ca.certPem)
  if (!(await cert.verify({publicKey: caCert, date: now}))) throw new CertificateError('certificate is not signed by the platform CA or is expired')
  return cert
}

/** The URI SANs in node's subjectAltName form ("URI:a, URI:b"), which the protocol's parsers read. */
function uriSans(cert: x509.X509Certificate): string {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
  return (san?.names.items.filter((n) => n.type === 'url').map((n) => `URI:${n.value}`) ?? []).join(', ')
}

/** Checks a renewal signature (ECDSA P-256 / SHA-256, IEEE P1363 encoding as WebCrypto produces). */
export async function verifyRenewalSignature(publicKey: CryptoKey, csrPem: string, signedAt: number, signatureB64: string): Promise<boolean> {
  try {
    return await webcrypto.subtle.verify({name: 'ECDSA', hash: 'SHA-256'}, publicKey, Buffer.from(signatureB64, 'base64'), renewalMessage(csrPem, signedAt))
  } catch {
    return false
  }
}
