import {EventEmitter} from 'node:events'
import type {TunnelSession} from './session.js'

/** What the pool knows about one Warpgate's live connections (for `mezu warpgates list`). */
export interface WarpgateLiveState {
  connections: number
  healthy: boolean
  remoteIps: string[]
  version: string | null
  connectedSince: number | null
}

const keyOf = (environmentId: string, service: string) => `${environmentId}\0${service}`

/**
 * Every ready tunnel connection, grouped by environment + service. Requests for a service are
 * spread over all available connections of all its replicas: least streams in flight first,
 * round robin among equals. Draining and unhealthy connections get no new streams.
 */
export class TunnelPool extends EventEmitter<{open: [TunnelSession]; close: [TunnelSession]}> {
  private readonly byService = new Map<string, TunnelSession[]>()
  private readonly byWarpgate = new Map<string, Set<TunnelSession>>()
  private turn = 0

  add(session: TunnelSession): void {
    const key = keyOf(session.peer.environmentId, session.peer.service)
    this.byService.set(key, [...(this.byService.get(key) ?? []), session])
    const mine = this.byWarpgate.get(session.peer.warpgateId) ?? new Set()
    mine.add(session)
    this.byWarpgate.set(session.peer.warpgateId, mine)
    session.once('close', () => this.remove(session))
    this.emit('open', session)
  }

  private remove(session: TunnelSession): void {
    const key = keyOf(session.peer.environmentId, session.peer.service)
    const rest = (this.byService.get(key) ?? []).filter((s) => s !== session)
    if (rest.length) this.byService.set(key, rest)
    else this.byService.delete(key)
    const mine = this.byWarpgate.get(session.peer.warpgateId)
    mine?.delete(session)
    if (mine && mine.size === 0) this.byWarpgate.delete(session.peer.warpgateId)
    this.emit('close', session)
  }

  /** The connection for the next request to a service, or undefined when none can take it. */
  pick(environmentId: string, service: string, except?: TunnelSession): TunnelSession | undefined {
    const list = this.byService.get(keyOf(environmentId, service))
    if (!list) return undefined
    let best: TunnelSession | undefined
    const n = list.length
    const start = this.turn++ % n
    for (let i = 0; i < n; i++) {
      const s = list[(start + i) % n]
      if (s === except || !s.isAvailable) continue
      if (!best || s.active < best.active) best = s
    }
    return best
  }

  /** Closes every connection of a Warpgate now (revocation). */
  closeWarpgate(warpgateId: string): number {
    const mine = [...(this.byWarpgate.get(warpgateId) ?? [])]
    for (const s of mine) s.close()
    return mine.length
  }

  live(warpgateId: string): WarpgateLiveState | undefined {
    const mine = [...(this.byWarpgate.get(warpgateId) ?? [])].filter((s) => !s.isClosed)
    if (mine.length === 0) return undefined
    return {
      connections: mine.length,
      healthy: mine.every((s) => s.healthy),
      remoteIps: [...new Set(mine.map((s) => s.remoteIp))],
      version: mine.find((s) => s.version)?.version ?? null,
      connectedSince: Math.min(...mine.map((s) => s.connectedAt)),
    }
  }

  /** Every connection in the pool (for metrics: read at scrape time, never per request). */
  sessions(): TunnelSession[] {
    const out: TunnelSession[] = []
    for (const list of this.byService.values()) for (const s of list) if (!s.isClosed) out.push(s)
    return out
  }

  closeAll(): void {
    for (const list of [...this.byService.values()]) for (const s of list) s.close()
  }
}
