import {X509Certificate} from 'node:crypto'
import selfsigned from 'selfsigned'
import {PLATFORM_CA_ORGANIZATION} from '../../src/protocol/identity.js'

/** The platform CA: signs the API and edge server certificates and Warpgate client certificates. */
export interface CaMaterial {
  certPem: string
  keyPem: string
}

export interface ServerCert {
  certPem: string
  keyPem: string
  /** leaf + CA, as served, so a client pinning the CA can verify and a first-contact client can see it */
  chainPem: string
}

const DAY = 24 * 60 * 60 * 1000

export async function createCa(commonName = 'Mezusphere platform CA', years = 10): Promise<CaMaterial> {
  const now = new Date(Date.now() - 60_000)
  const pems = await selfsigned.generate([{name: 'commonName', value: commonName}, {name: 'organizationName', value: PLATFORM_CA_ORGANIZATION}], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + years * 365 * DAY),
    extensions: [
      {name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true},
      {name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true},
    ],
  })
  return {certPem: pems.cert, keyPem: pems.private}
}

/**
 * A server certificate for the given DNS names and IPs (and URI SANs: CONTROL_URI marks the
 * control API's, which clients of the API require of a certificate from this CA), signed by the CA.
 */
export async function issueServerCert(ca: CaMaterial, names: {dns: string[]; ips: string[]; uris?: string[]}, days = 90): Promise<ServerCert> {
  const now = new Date(Date.now() - 60_000)
  const pems = await selfsigned.generate([{name: 'commonName', value: names.dns[0] ?? names.ips[0] ?? 'mezu'}], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + days * DAY),
    ca: {key: ca.keyPem, cert: ca.certPem},
    extensions: [
      {name: 'basicConstraints', cA: false, critical: true},
      {name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true},
      {name: 'extKeyUsage', serverAuth: true},
      {
        name: 'subjectAltName',
        altNames: [...(names.uris ?? []).map((value) => ({type: 6 as const, value})), ...names.dns.map((value) => ({type: 2 as const, value})), ...names.ips.map((ip) => ({type: 7 as const, ip}))],
      },
    ],
  })
  return {certPem: pems.cert, keyPem: pems.private, chainPem: pems.cert.trimEnd() + '\n' + ca.certPem.trimEnd() + '\n'}
}

/** SHA-256 fingerprint, as people compare it (AA:BB:…). */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256
}
