import type {RequestLogEntry} from '../../../src/lib/api-types/index.js'
import type {TunnelEdge} from '../../../src/protocol/tunnel.js'
import type {EdgeChangeEvent} from '../identity-snapshot.js'
import type {AdmittedWarpgate} from '../tunnel/admission.js'
import type {WireDelta, WireSnapshot} from './wire.js'

/**
 * The edge channel: one `ws` connection from a remote edge to the control plane over mutual TLS
 * (the edge's enrolment certificate), JSON messages. The control plane sends a snapshot on
 * connect, then every feed event and every snapshot delta in version order; the edge calls the
 * EdgeAuthority methods as requests and reports its live state and request log. A gap in
 * versions or a protocol error closes the connection and the edge reconnects for a fresh snapshot.
 */
export const EDGE_CHANNEL_PATH = '/v1/edge/channel'
export const EDGE_CHANNEL_PROTOCOL = 'mezu-edge.1'

/** A Warpgate the edge's tunnel listener may admit, as the channel carries it. */
export type WireWarpgate = AdmittedWarpgate

/** Secrets the edge needs to serve without the store: derived keys, never the master key. */
export interface EdgeSecrets {
  /** the keyed-hash key session tokens and API keys are indexed by in the snapshot (base64) */
  tokenHashKey: string
  /** the CSRF HMAC key every edge shares, so a form from one edge posts to another (base64) */
  csrfKey: string
}

export type ToEdge =
  | {t: 'hello'; edgeId: string; name: string; snapshot: WireSnapshot; secrets: EdgeSecrets; warpgates: WireWarpgate[]; tunnelEdges: TunnelEdge[]}
  | {t: 'delta'; delta: WireDelta}
  | {t: 'event'; event: EdgeChangeEvent}
  /** the whole admission list, sent again when a Warpgate changes (it is small) */
  | {t: 'warpgates'; items: WireWarpgate[]; revoked: string[]}
  | {t: 'edges'; edges: TunnelEdge[]}
  | {t: 'res'; id: number; result?: unknown; error?: {code: string; message: string}}

/** What an edge knows about one Warpgate's connections to it. */
export interface EdgeWarpgateLive {
  id: string
  connections: number
  healthy: boolean
  remoteIps: string[]
  version: string | null
  connectedSince: number | null
}

export type FromEdge =
  | {t: 'req'; id: number; method: string; params: unknown}
  | {t: 'status'; version: string; configVersion: number; edgeUrl: string | null; tunnelUrls: string[]; warpgates: EdgeWarpgateLive[]}
  | {t: 'log'; entries: RequestLogEntry[]}

/** Methods an edge may call (EdgeAuthority's, plus callback codes kept by the control plane). */
export const EDGE_METHODS = [
  'login', 'touchSessions', 'logout', 'invitation', 'acceptInvitation', 'deviceLogin', 'decideDeviceLogin', 'issueCallbackCode', 'consumeCallbackCode',
] as const
export type EdgeMethod = (typeof EDGE_METHODS)[number]

/** Methods about the edge itself rather than end users: a fresh certificate before its own runs out. */
export const EDGE_SELF_METHODS = ['renewCertificate'] as const
export type EdgeSelfMethod = (typeof EDGE_SELF_METHODS)[number]

/** renewCertificate: a CSR for a key the edge just made, and the names its certificate must carry besides the platform's. */
export interface RenewCertificateParams {
  csr: string
  dns: string[]
  ips: string[]
}
export interface RenewedCertificate {
  /** leaf + CA */
  certificatePem: string
  expiresAt: string
}
