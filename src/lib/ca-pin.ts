import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import tls from 'node:tls'
import {MezuError} from './errors.js'

/**
 * First contact with a platform: fetch the certificate chain it presents and take its root, so a
 * person can compare the fingerprint with `mezu platform trust` before pinning it.
 */
export async function fetchPresentedCa(apiUrl: string): Promise<{pem: string; fingerprint: string}> {
  const url = new URL(apiUrl)
  const port = Number(url.port || 443)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return new Promise((resolve, reject) => {
    // Verification is off only to read the chain; nothing is sent and the socket is closed at once.
    const socket = tls.connect({host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false, minVersion: 'TLSv1.3'}, () => {
      let cert = socket.getPeerCertificate(true)
      const seen = new Set<string>()
      while (cert.issuerCertificate && cert.issuerCertificate !== cert && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256)
        cert = cert.issuerCertificate
      }
      socket.end()
      const x = new X509Certificate(cert.raw)
      if (!x.ca) {
        reject(new MezuError('ca_untrusted', `${apiUrl} did not present a CA certificate; pass --ca-file with the platform CA (mezu platform trust prints it)`))
        return
      }
      resolve({pem: x.toString(), fingerprint: x.fingerprint256})
    })
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')))
    socket.on('error', (e) => reject(new MezuError('network', `cannot reach ${apiUrl}: ${e.message}`)))
  })
}

export function readCaFile(path: string): string {
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (error) {
    throw new MezuError('bad_input', `cannot read the CA file ${path}: ${(error as Error).message}`)
  }
  try {
    new X509Certificate(pem)
  } catch {
    throw new MezuError('bad_input', `${path} is not a PEM certificate`)
  }
  return pem
}

export function caFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256
}
