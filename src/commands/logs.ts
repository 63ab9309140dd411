import {Flags} from '@oclif/core'
import type {LogsResponse, RequestLogEntry} from '../lib/api-types/index.js'
import {MezuCommand} from '../lib/base-command.js'
import {MezuError} from '../lib/errors.js'
import {followLogs, logLine, printJsonLine} from '../lib/log-follow.js'

export default class Logs extends MezuCommand<typeof Logs> {
  static override summary = 'Show request metadata from the edge (never bodies); --follow streams new requests.'
  static override description = 'Per request: time, host, method, path without query, status, duration, bytes, client IP, TLS and protocol; oldest first. --follow streams new requests (with --json one JSON object per line).'
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs --route hello.mezu.localhost --limit 20',
    '<%= config.bin %> logs --follow',
    '<%= config.bin %> logs --follow --json   # one JSON object per line',
  ]
  static override flags = {
    route: Flags.string({description: 'only this route (hostname or id)'}),
    follow: Flags.boolean({char: 'f', description: 'keep streaming new requests until Ctrl-C'}),
    limit: Flags.integer({description: 'how many recent entries (default 50; with --follow, 10 before streaming)', min: 0, max: 1000}),
  }

  async run(): Promise<LogsResponse | undefined> {
    const {route, follow, limit} = this.flags
    if (follow) {
      await followLogs(this.api().opts, {route, backlog: limit ?? 10}, (e) => (this.jsonEnabled() ? printJsonLine(e) : this.log(logLine(e))))
      return undefined
    }
    if (limit === 0) throw new MezuError('usage', '--limit 0 only makes sense with --follow; give 1 to 1000', 2)
    const page = await this.api().get<LogsResponse>('logs', {route, limit: limit ?? 50})
    this.table<RequestLogEntry>(page.items, [
      {header: 'TIME', get: (e) => e.time},
      {header: 'HOST', get: (e) => e.host},
      {header: 'METHOD', get: (e) => e.method},
      {header: 'PATH', get: (e) => e.path},
      {header: 'STATUS', get: (e) => e.status},
      {header: 'MS', get: (e) => e.durationMs},
      {header: 'IN', get: (e) => e.bytesIn},
      {header: 'OUT', get: (e) => e.bytesOut},
      {header: 'CLIENT', get: (e) => e.clientIp},
      {header: 'PROTO', get: (e) => [e.protocol, e.tlsVersion].filter(Boolean).join(' ')},
      {header: 'REQUEST ID', get: (e) => e.requestId},
    ])
    return page
  }
}
