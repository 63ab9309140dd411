import {hostname} from 'node:os'
import type {WarpgateEvent} from './warpgate.js'

/** The levels `mezu-warpgate --log-level` accepts. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

type Level = Exclude<LogLevel, 'silent'>

/** pino's numbers for the levels, so tools that read the platform's lines read these too. */
const LEVEL_NUMBERS: Record<Level, number> = {error: 50, warn: 40, info: 30, debug: 20}

/** What the Warpgate logs through: pino's call shape, (fields, message) or (message). */
export type WarpgateLog = Record<Level, (fields: Record<string, unknown> | string, msg?: string) => void>

/**
 * JSON lines on stderr in pino's format (level number, time in ms, pid, hostname, name, the
 * fields, msg), as the platform writes them with pino; stdout stays the event stream. Written by
 * hand rather than with pino: importing pino would add about 9 MiB to the lean runtime's idle RSS.
 */
export function warpgateLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): WarpgateLog {
  const min = level === 'silent' ? Infinity : LEVEL_NUMBERS[level]
  const base = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":"mezu-warpgate"`
  const at = (n: number) => (fields: Record<string, unknown> | string, msg?: string) => {
    if (n < min) return
    const f = typeof fields === 'string' ? {} : fields
    let line = `{"level":${n},"time":${Date.now()},${base}`
    for (const [k, v] of Object.entries(f)) {
      if (v === undefined) continue
      line += `,${JSON.stringify(k)}:${JSON.stringify(v instanceof Error ? {type: v.name, message: v.message} : v)}`
    }
    write(`${line},"msg":${JSON.stringify(typeof fields === 'string' ? fields : msg ?? '')}}\n`)
  }
  return {error: at(50), warn: at(40), info: at(30), debug: at(20)}
}

/** Each Warpgate event at its level: requests are debug (warn when the origin failed), trouble is warn or error. */
export function logEvent(log: WarpgateLog, e: WarpgateEvent): void {
  const {type, ...fields} = e
  const at = (level: Level, msg: string, extra: Record<string, unknown> = fields) => log[level]({event: type, ...extra}, msg)
  switch (e.type) {
    case 'registered': return at('info', 'registered', {warpgateId: e.warpgateId, service: e.service, expiresAt: e.expiresAt})
    case 'connected': return at('info', 'tunnel connection up')
    // a drain or a stop closes connections on purpose: only a lost one is a warning
    case 'disconnected': return at(e.reason.kind === 'drained' || e.reason.kind === 'stopped' ? 'info' : 'warn', 'tunnel connection down', {connection: e.connection, connections: e.connections, edge: e.edge, reason: e.reason.kind, detail: e.reason.detail})
    case 'reconnecting': return at('info', 'tunnel connection retrying')
    case 'edges': return at('info', 'edge list changed', {edges: e.edges.map((x) => x.edge), added: e.added, removed: e.removed, from: e.from})
    case 'edges-ignored': return at('warn', 'edge list ignored')
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
