import WebSocket from 'ws'
import type {ApiClientOptions} from './api-client.js'
import type {RequestLogEntry} from './api-types/index.js'
import {networkError} from './api-client.js'
import {controlServerIdentity} from '../protocol/control-identity.js'
import {MezuError} from './errors.js'

/** One entry as a line for people: time, host, method path, status, duration, bytes, client, protocol, request id. */
export function logLine(e: RequestLogEntry): string {
  return [e.time, e.host, `${e.method} ${e.path}`, e.status, `${e.durationMs}ms`, `in ${e.bytesIn}B out ${e.bytesOut}B`, e.clientIp, [e.protocol, e.tlsVersion].filter(Boolean).join(' '), `id ${e.requestId}`].join('  ')
}

/** One entry as a JSON line on stdout (--json --follow). */
export function printJsonLine(e: RequestLogEntry): void {
  process.stdout.write(JSON.stringify(e) + '\n')
}

/**
 * Streams new log entries (after `backlog` recent ones) over the API's ws endpoint with the
 * platform CA pinned, until SIGINT/SIGTERM (resolves) or the platform ends the stream (rejects).
 */
export function followLogs(api: ApiClientOptions, q: {route?: string; backlog: number}, onEntry: (e: RequestLogEntry) => void): Promise<void> {
  const url = new URL(api.apiUrl.replace(/^https:/, 'wss:').replace(/\/+$/, '') + '/v1/logs/follow')
  if (q.route) url.searchParams.set('route', q.route)
  url.searchParams.set('limit', String(q.backlog))
  return new Promise((resolve, reject) => {
    // ws's types still describe a boolean-returning check; ws hands it to tls.connect, which takes an Error
    const checkServerIdentity = controlServerIdentity(api.caPem, api.apiUrl) as unknown as WebSocket.ClientOptions['checkServerIdentity']
    const ws = new WebSocket(url, {ca: api.caPem, checkServerIdentity, minVersion: 'TLSv1.3', headers: {authorization: `Bearer ${api.token ?? ''}`, 'user-agent': 'mezu-cli'}, handshakeTimeout: 30_000, perMessageDeflate: false})
    let stopping = false
    const stop = () => {
      stopping = true
      ws.close(1000)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const done = (err?: Error) => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      if (err) reject(err)
      else resolve()
    }
    ws.on('message', (data) => onEntry(JSON.parse(String(data)) as RequestLogEntry))
    ws.on('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (c: Buffer) => (text += c))
      res.on('end', () => {
        let err: {code?: string; message?: string} | undefined
        try {
          err = JSON.parse(text).error
        } catch {}
        done(new MezuError(err?.code ?? `http_${res.statusCode}`, err?.message ?? `the platform answered ${res.statusCode}`, 1, res.statusCode))
      })
    })
    ws.on('error', (e) => done(networkError(e, api.apiUrl)))
    ws.on('close', (code, reason) => {
      if (stopping) return done()
      done(new MezuError('network', `the platform ended the log stream (${code}${reason.length ? `: ${reason}` : ''})`))
    })
  })
}
