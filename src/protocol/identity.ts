import {createHash} from 'node:crypto'

/** The URI SAN scheme that names a Warpgate in its client certificate: `urn:mezu:warpgate:<id>`. */
export const WARPGATE_URI_PREFIX = 'urn:mezu:warpgate:'

/** The SAN URI for a Warpgate id. */
export function warpgateUri(id: string): string {
  return WARPGATE_URI_PREFIX + id
}

/**
 * The Warpgate id named by a certificate's subjectAltName string as Node prints it
 * (`URI:urn:mezu:warpgate:wg_…, DNS:…`); undefined when there is none or more than one.
 */
export function warpgateIdFromSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined
  const ids = subjectAltName.split(/,\s*/).filter((s) => s.startsWith('URI:' + WARPGATE_URI_PREFIX)).map((s) => s.slice(4 + WARPGATE_URI_PREFIX.length))
  return ids.length === 1 && /^wg_[0-9a-z]{20}$/.test(ids[0]) ? ids[0] : undefined
}

/** The URI SAN scheme that names an edge node in its certificate: `urn:mezu:edge:<id>`. */
export const EDGE_URI_PREFIX = 'urn:mezu:edge:'

export function edgeUri(id: string): string {
  return EDGE_URI_PREFIX + id
}

/** The edge id named by a certificate's subjectAltName string; undefined when there is none or more than one. */
export function edgeIdFromSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined
  const ids = subjectAltName.split(/,\s*/).filter((s) => s.startsWith('URI:' + EDGE_URI_PREFIX)).map((s) => s.slice(4 + EDGE_URI_PREFIX.length))
  return ids.length === 1 && /^edg_[0-9a-z]{20}$/.test(ids[0]) ? ids[0] : undefined
}

/**
 * The URI SAN that marks the control API's own certificate from the platform CA. Edge and
 * Warpgate certificates come from the same CA and never carry it, so a client of the API can
 * tell the control plane from an edge that also holds a certificate for its names.
 */
export const CONTROL_URI = 'urn:mezu:control'

/** The Organization the platform CA's subject has always carried (`createCa`), which tells it from an operator's CA. */
export const PLATFORM_CA_ORGANIZATION = 'Mezusphere'

/** How far a renewal's signedAt may be from the platform's clock. */
export const RENEWAL_MAX_SKEW_MS = 5 * 60_000

/**
 * The bytes a Warpgate signs with its current certificate's key to ask for a renewal: a fixed
 * label, the signing time and the hash of the new CSR, so a captured request is useless for
 * another CSR and expires with the skew window.
 */
export function renewalMessage(csrPem: string, signedAt: number): Buffer {
  return Buffer.from(`mezu-warpgate-renew\0${signedAt}\0${createHash('sha256').update(csrPem.trim()).digest('hex')}`)
}
