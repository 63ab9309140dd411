import pino, {type Level, type Logger} from 'pino'
import type {WarpgateEvent} from './warpgate.js'

/** The levels `mezu-warpgate --log-level` accepts. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** JSON lines on stderr (pino), as the platform writes them; stdout stays the event stream. */
export function warpgateLogger(level: LogLevel): Logger {
  return pino({level, base: {pid: process.pid, name: 'mezu-warpgate'}}, pino.destination(2))
}

/** Each Warpgate event at its level: requests are debug (warn when the origin failed), trouble is warn or error. */
export function logEvent(log: Logger, e: WarpgateEvent): void {
  const {type, ...fields} = e
  const at = (level: Level, msg: string, extra: Record<string, unknown> = fields) => log[level]({event: type, ...extra}, msg)
  switch (e.type) {
    case 'registered': return at('info', 'registered', {warpgateId: e.warpgateId, service: e.service, expiresAt: e.expiresAt})
    case 'connected': return at('info', 'tunnel connection up')
    // a drain or a stop closes connections on purpose: only a lost one is a warning
    case 'disconnected': return at(e.reason.kind === 'drained' || e.reason.kind === 'stopped' ? 'info' : 'warn', 'tunnel connection down', {connection: e.connection, connections: e.connections, reason: e.reason.kind, detail: e.reason.detail})
    case 'reconnecting': return at('info', 'tunnel connection retrying')
    case 'renewed': return at('info', 'certificate renewed')
    case 'renew-failed': return at('error', 'certificate renewal failed')
    case 'health': return at(e.healthy ? 'info' : 'warn', e.healthy ? 'service healthy' : 'service unhealthy')
    case 'assertion-keys-unavailable': return at('warn', 'cannot fetch the platform keys')
    case 'request': return at(e.error ? 'warn' : 'debug', e.error ? 'request failed at the origin' : 'request')
    case 'metrics': return at('info', 'metrics listening')
    case 'draining': return at('info', 'draining')
    case 'stopped': return at('info', 'stopped')
  }
}
