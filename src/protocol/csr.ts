import {generateKeyPair, type KeyObject, sign} from 'node:crypto'

/** A fresh ECDSA P-256 key pair and a CSR for it; the subject is informational, the platform sets the identity. */
export async function createKeyAndCsr(cn = 'mezu-warpgate'): Promise<{keyPem: string; csrPem: string}> {
  const {privateKey, publicKey} = await new Promise<{privateKey: KeyObject; publicKey: KeyObject}>((resolve, reject) => {
    generateKeyPair('ec', {namedCurve: 'prime256v1'}, (err, publicKey, privateKey) => (err ? reject(err) : resolve({privateKey, publicKey})))
  })
  const keyPem = privateKey.export({type: 'pkcs8', format: 'pem'}) as string
  return {keyPem, csrPem: pkcs10(privateKey, publicKey.export({type: 'spki', format: 'der'}), cn)}
}

/** One DER TLV (definite length; lengths below 64 KiB are all a CSR needs). */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}

const OID_COMMON_NAME = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]) // 2.5.4.3
const OID_ECDSA_WITH_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]) // 1.2.840.10045.4.3.2

/**
 * A PKCS#10 request (RFC 2986) for CN=<cn>, signed ECDSA-SHA256 with `key`. Built by hand with
 * node:crypto because the only other thing the Warpgate used @peculiar/x509 for was this, and that
 * library (with its asn1 and DI dependencies) stayed resident in every `mezu tunnel` (~10 MiB RSS).
 */
export function pkcs10(key: KeyObject, spkiDer: Buffer, cn: string): string {
  const subject = der(0x30, der(0x31, der(0x30, OID_COMMON_NAME, der(0x0c, Buffer.from(cn, 'utf8')))))
  // version 0, subject, subjectPKInfo, attributes [0] (empty)
  const info = der(0x30, Buffer.from([0x02, 0x01, 0x00]), subject, spkiDer, Buffer.from([0xa0, 0x00]))
  const signature = sign('sha256', info, {key, dsaEncoding: 'der'})
  const csr = der(0x30, info, der(0x30, OID_ECDSA_WITH_SHA256), der(0x03, Buffer.from([0x00]), signature))
  return `-----BEGIN CERTIFICATE REQUEST-----\n${csr.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE REQUEST-----\n`
}
