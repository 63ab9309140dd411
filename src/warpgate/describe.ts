import type {WarpgateEvent} from './warpgate.js'

/**
 * A Warpgate event as a line for people. `routing`: routes are about to be ensured, so their URLs
 * follow and no "add one with --route" hint is needed.
 */
export function describeEvent(e: WarpgateEvent, routing: boolean): string {
  switch (e.type) {
    case 'registered': {
      const hint = routing ? [] : [`No route points at "${e.service}" yet: add one with --route HOST`]
      return [`Warpgate ${e.warpgateId} serving "${e.service}" (certificate until ${e.expiresAt})`, ...(e.urls.length ? e.urls.map((u) => `Public URL: ${u}`) : hint)].join('\n')
    }
    case 'connected': return `connection ${e.connection} up (${at(e.edge)}${e.connections} live)`
    case 'disconnected': return `connection ${e.connection} down: ${e.reason.detail} (${at(e.edge)}${e.connections} live)`
    case 'reconnecting': return `connection ${e.connection} retrying in ${(e.inMs / 1000).toFixed(1)}s${e.edge ? ` (edge ${e.edge})` : ''}`
    case 'edges': return `edges: ${e.edges.map((x) => x.edge).join(', ')}${e.added.length ? `; new: ${e.added.join(', ')}` : ''}${e.removed.length ? `; dropped (draining): ${e.removed.join(', ')}` : ''}`
    case 'edges-ignored': return `ignored an edge list from the edge: ${e.reason}`
    case 'renewed': return `certificate renewed, valid until ${e.expiresAt}`
    case 'renew-failed': return `certificate renewal failed: ${e.message}`
    case 'assertion-keys-unavailable': return `cannot fetch the platform keys from ${e.jwksUrl} (${e.message}); requests get 503 until it can`
    case 'health': return `service ${e.healthy ? 'healthy' : `unhealthy: ${e.reason ?? ''}`}`
    case 'request': return `${e.method} ${e.path} ${e.status} ${e.durationMs}ms${e.error ? ` (${e.error})` : ''}`
    case 'metrics': return `metrics at ${e.url}`
    case 'draining': return `draining: in-flight requests have ${e.graceMs / 1000}s to finish`
    case 'stopped': return 'stopped'
  }
}

const at = (edge: string | undefined) => (edge ? `edge ${edge}, ` : '')
