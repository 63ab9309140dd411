/** ALPN id of the tunnel: both sides offer only this, so nothing else can speak on the tunnel port. */
export const TUNNEL_ALPN = 'mezu-tunnel/1'

/**
 * HTTP/2 windows for the tunnel. Node's defaults cap a stream at 64 KiB in flight, which limits a
 * single download to one window per round trip; these let a stream fill a fast link while the
 * connection window still bounds memory per connection.
 */
export const TUNNEL_STREAM_WINDOW_BYTES = 8 * 1024 * 1024
/** The connection-level window (shared by all streams of one connection). */
export const TUNNEL_CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024
/** Largest frame either side sends; bigger frames mean fewer syscalls per MiB. */
export const TUNNEL_MAX_FRAME_BYTES = 256 * 1024
/** Streams one connection carries at once. */
export const TUNNEL_MAX_CONCURRENT_STREAMS = 1000
/** Header list size either side accepts on the tunnel. */
export const TUNNEL_MAX_HEADER_LIST_BYTES = 64 * 1024

/** HTTP/2 SETTINGS both sides of the tunnel send. */
export const TUNNEL_H2_SETTINGS = {
  initialWindowSize: TUNNEL_STREAM_WINDOW_BYTES,
  maxFrameSize: TUNNEL_MAX_FRAME_BYTES,
  maxConcurrentStreams: TUNNEL_MAX_CONCURRENT_STREAMS,
  maxHeaderListSize: TUNNEL_MAX_HEADER_LIST_BYTES,
} as const

/** Liveness pings on an idle tunnel connection, and how long a ping may go unanswered. */
export const TUNNEL_PING_INTERVAL_MS = 10_000
export const TUNNEL_PING_TIMEOUT_MS = 10_000
/** How long the edge waits for a Warpgate's hello on a new connection before closing it. */
export const TUNNEL_HELLO_TIMEOUT_MS = 10_000
