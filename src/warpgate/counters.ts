import type {WarpgateStats} from '../protocol/tunnel.js'
import type {OriginRequestEvent} from './origin.js'

/**
 * The Warpgate's own counters since it started. It listens on nothing by default, so the edge is
 * where they are scraped: each tunnel connection reports them in a CONTROL message (stats); with
 * `mezu-warpgate --metrics-addr` they are also served locally.
 */
export class WarpgateCounters {
  requests = 0
  originErrors = 0
  originConnectFailures = 0
  reconnects = 0

  constructor(private readonly streamsInFlight: () => number) {}

  /** One request finished (or failed) at the origin. */
  request(e: OriginRequestEvent): void {
    this.requests++
    if (e.originFailure === 'connect') this.originConnectFailures++
    else if (e.originFailure === 'response') this.originErrors++
  }

  reconnect(): void {
    this.reconnects++
  }

  snapshot(): WarpgateStats {
    return {requests: this.requests, originErrors: this.originErrors, originConnectFailures: this.originConnectFailures, reconnects: this.reconnects, streams: this.streamsInFlight()}
  }
}
