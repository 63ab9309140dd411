/** One request the edge served: metadata only, never a body, header value or query string. */
export interface RequestLogEntry {
  /** when the response finished (ISO 8601) */
  time: string
  /** the edge's id for the request: the Mezu-Request-Id its origin and its error pages got */
  requestId: string
  /** the matched route; null when no route matched (unknown host) */
  routeId: string | null
  host: string
  method: string
  /** the path without its query string */
  path: string
  status: number
  durationMs: number
  bytesIn: number
  bytesOut: number
  clientIp: string
  /** e.g. TLSv1.3; null when unknown */
  tlsVersion: string | null
  /** http/1.1 or h2 */
  protocol: string
}

/** GET /v1/logs: the newest `limit` entries, oldest first. */
export interface LogsResponse {
  items: RequestLogEntry[]
}
