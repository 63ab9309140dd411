import {X509Certificate} from 'node:crypto'
import tls, {type PeerCertificate} from 'node:tls'
import {CONTROL_URI, EDGE_URI_PREFIX, PLATFORM_CA_ORGANIZATION, WARPGATE_URI_PREFIX} from './identity.js'

/** The `code` of the Error a server is refused with when its platform certificate is not the control plane's. */
export const NOT_CONTROL_PLANE = 'ERR_MEZU_NOT_CONTROL_PLANE'

/** What `tls.connect`, `https.request`, got's `https` and `ws` take as `checkServerIdentity`. */
export type ServerIdentityCheck = (host: string, cert: PeerCertificate) => Error | undefined

/**
 * The `checkServerIdentity` of a client of the control API that pins `caPem` (one PEM, perhaps a
 * bundle); `where` names the server in the refusal (the API URL), else the host is used.
 *
 * Node's own hostname check runs first. Then a certificate from the platform CA must carry
 * CONTROL_URI: edge nodes hold certificates from the same CA for `*.<domain>`, localhost and
 * 127.0.0.1, names the API answers to as well, and must not pass for the control plane.
 * "From the platform CA" is decided by checking the leaf's signature with each pinned CA that
 * is a platform CA (its subject's O), never from the chain the server sent, whose issuer Node
 * matches by name only; and a leaf that names an edge or a Warpgate is refused whoever signed
 * it. A certificate from any other CA (an operator's API certificate) is left to normal
 * verification.
 */
export function controlServerIdentity(caPem: string | readonly string[], where?: string): ServerIdentityCheck {
  const platformCas = pemCertificates(caPem).filter((ca) => ca.ca && ca.subject.split('\n').includes(`O=${PLATFORM_CA_ORGANIZATION}`))
  return (host, cert) => {
    const mismatch = tls.checkServerIdentity(host, cert)
    if (mismatch) return mismatch
    const uris = uriSans(cert.subjectaltname)
    if (uris.includes(CONTROL_URI)) return undefined
    const namesOther = uris.some((u) => u.startsWith(EDGE_URI_PREFIX) || u.startsWith(WARPGATE_URI_PREFIX))
    if (!namesOther && !signedByAny(cert.raw, platformCas)) return undefined
    const error = new Error(`the server at ${where ?? host} presents a platform certificate that is not the control plane's (an edge or Warpgate certificate?), so nothing was sent to it; a control plane older than this client lacks the mark: upgrade and restart it`)
    return Object.assign(error, {code: NOT_CONTROL_PLANE, host})
  }
}

/** The URI SANs in Node's subjectaltname string (`DNS:a, URI:urn:…, IP Address:…`). */
function uriSans(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4))
}

function signedByAny(leafDer: Buffer, cas: readonly X509Certificate[]): boolean {
  if (cas.length === 0) return false
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(leafDer)
  } catch {
    // TLS accepted a certificate Node cannot read back: with a platform CA pinned, fail closed
    return true
  }
  return cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
}

function pemCertificates(pem: string | readonly string[]): X509Certificate[] {
  const out: X509Certificate[] = []
  for (const block of [pem].flat().join('\n').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []) {
    try {
      out.push(new X509Certificate(block))
    } catch {
      // not a certificate TLS would use either
    }
  }
  return out
}
