import type {RequestLogEntry} from '../../src/lib/api-types/index.js'
import {RequestLog} from '../../platform/edge/request-log.js'
import {createRoute} from '../../platform/store/config/routes.js'
import {api, loginToken} from './api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, type TestPlatform} from './platform.js'

/** The platform's request ring; created here until the edge is wired into the test platform. */
export function ringOf(platform: TestPlatform): RequestLog {
  platform.ctx.requestLog ??= new RequestLog(1000)
  return platform.ctx.requestLog
}

let seq = 0
export function logEntry(over: Partial<RequestLogEntry> = {}): RequestLogEntry {
  seq++
  return {
    time: new Date().toISOString(), requestId: `test${seq}`, routeId: null, host: 'unknown.mezu.localhost', method: 'GET', path: `/r${seq}`,
    status: 200, durationMs: seq, bytesIn: 0, bytesOut: 100 + seq, clientIp: '127.0.0.1', tlsVersion: 'TLSv1.3', protocol: 'h2', ...over,
  }
}

/** Two projects with one route each, an owner token, and API keys scoped to project A. */
export async function logsWorld(platform: TestPlatform) {
  const owner = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (method: string, path: string, body?: unknown, token = owner) => api(platform.apiUrl, platform.caPem, method, path, {token, body})
  const route = async (project: string, host: string) => {
    const p = await call('POST', '/v1/projects', {name: project})
    const e = await call('POST', `/v1/projects/${p.body.id}/environments`, {name: 'prod'})
    if (p.status !== 201 || e.status !== 201) throw new Error(`setup failed: ${p.text} ${e.text}`)
    return createRoute(platform.ctx.cdb, {projectId: p.body.id, environmentId: e.body.id, policyId: null, hostname: host, pathPrefix: '/', service: project, bodyLimitBytes: null, rateLimitPerMinute: null})
  }
  const a = await route('alpha', 'a.mezu.localhost')
  const b = await route('beta', 'b.mezu.localhost')
  const key = async (name: string, scopes: string[]) => {
    const r = await call('POST', '/v1/service-accounts', {name, scopes, project: 'alpha'})
    if (r.status !== 201) throw new Error(`service account: ${r.text}`)
    return r.body.apiKey as string
  }
  return {owner, a, b, alphaReader: await key('alpha-logs', ['logs:read']), alphaNoLogs: await key('alpha-projects', ['projects:read'])}
}
