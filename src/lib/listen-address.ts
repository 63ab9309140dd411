/** A listener's address from `--metrics-addr`: HOST:PORT, [IPv6]:PORT, or :PORT for loopback. */
export interface ListenAddress {
  host: string
  port: number
}

/**
 * Parses HOST:PORT (port 0 = any free port). A missing host means 127.0.0.1: listening beyond
 * loopback is only ever what the operator wrote. Returns an error sentence instead of throwing,
 * so each caller words it as its own usage error.
 */
export function parseListenAddress(text: string, flag: string): ListenAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) return `${flag} must be HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464; port 0 = any free port), got "${text}"`
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

/** host:port as it goes in a URL (IPv6 in brackets). */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}
