/**
 * ALPN id of the tunnel: both sides offer only this, so nothing else can speak on the tunnel port.
 * Unversioned on purpose: the version is agreed in the HELLO frames (mux.ts), where a mismatch is
 * refused with both versions named. (Warpgates of the reverse-HTTP/2 era offered `mezu-tunnel/1`
 * and are refused in the TLS handshake: no application protocol in common.)
 */
export const TUNNEL_ALPN = 'mezu-tunnel'

/** Liveness pings on an idle tunnel connection, and how long a ping may go unanswered. */
export const TUNNEL_PING_INTERVAL_MS = 10_000
export const TUNNEL_PING_TIMEOUT_MS = 10_000
/** How long the edge waits for a Warpgate's hello on a new connection before closing it. */
export const TUNNEL_HELLO_TIMEOUT_MS = 10_000
