import http2 from 'node:http2'
import https from 'node:https'
import type {ExecutionContext} from 'ava'
import {createWarpgate} from '../../platform/store/config/warpgates.js'
import {Warpgate, type WarpgateEvent, type WarpgateOptions} from '../../src/warpgate/warpgate.js'
import type {TestPlatform} from './platform.js'

/** A registration token made through the store (what `mezu warpgates create` does through the API). */
export function registrationToken(platform: TestPlatform, scope: {projectId: string; environmentId: string}, service: string, name = service): {token: string; warpgateId: string} {
  const {token, warpgate} = createWarpgate(platform.ctx.cdb, {...scope, name, service, tokenTtlMs: 60 * 60_000})
  return {token, warpgateId: warpgate.id}
}

/** Waits for an event that satisfies `match`, failing after the deadline. */
export function waitFor<T>(subscribe: (fn: (v: T) => void) => () => void, match: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const off = subscribe((v) => {
      if (!match(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}

export function warpgateEvent(wg: Warpgate, match: (e: WarpgateEvent) => boolean, what: string, ms?: number): Promise<WarpgateEvent> {
  return waitFor<WarpgateEvent>((fn) => {
    wg.on('event', fn)
    return () => wg.off('event', fn)
  }, match, what, ms)
}

/** An in-process Warpgate registered with a fresh token, started, with `connections` up. */
export async function startWarpgate(t: ExecutionContext, platform: TestPlatform, scope: {projectId: string; environmentId: string}, service: string, originUrl: string, opts: Partial<WarpgateOptions> & {connections?: number} = {}): Promise<{wg: Warpgate; warpgateId: string}> {
  const {token, warpgateId} = registrationToken(platform, scope, service)
  const wg = new Warpgate({apiUrl: platform.apiUrl, caPem: platform.caPem, token, originUrl, connections: 2, nextDelay: () => 50, ...opts})
  t.teardown(() => wg.stop())
  const n = opts.connections ?? 2
  const up = warpgateEvent(wg, (e) => e.type === 'connected' && e.connections >= n, `${n} connections of ${service}`)
  await wg.start()
  await up
  return {wg, warpgateId}
}

export interface EdgeResponse {
  status: number
  headers: http2.IncomingHttpHeaders | Record<string, string | string[] | undefined>
  body: Buffer
  text: string
}

/** An HTTPS/1.1 request to the edge for `host`, CA pinned, connecting to 127.0.0.1. */
export function edgeRequest(platform: TestPlatform, host: string, path: string, opts: {method?: string; body?: Buffer | string; headers?: Record<string, string>; agent?: https.Agent} = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: platform.ports.edge!, servername: host.replace(/:\d+$/, ''), method: opts.method ?? 'GET', path, ca: platform.caPem,
      headers: {host, ...opts.headers}, agent: opts.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8')})
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
