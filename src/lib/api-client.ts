import type {Got, Method, RequestError} from 'got'
import type {ApiErrorBody} from './api-types/index.js'
import {controlServerIdentity, NOT_CONTROL_PLANE} from '../protocol/control-identity.js'
import {MezuError} from './errors.js'

export interface ApiClientOptions {
  apiUrl: string
  caPem: string
  token?: string
  timeoutMs?: number
}

/** The CLI's way into /v1: the platform CA pinned, the bearer token set, API errors mapped. */
export class ApiClient {
  private http: Promise<Got> | undefined

  constructor(readonly opts: ApiClientOptions) {}

  // got is loaded with the first request: `mezu tunnel --token` (servers, CI) never calls the API,
  // and a long-running Warpgate should not carry it in memory.
  private client(): Promise<Got> {
    const opts = this.opts
    return (this.http ??= import('got').then(({default: got}) => got.extend({
      prefixUrl: opts.apiUrl.replace(/\/+$/, '') + '/v1/',
      https: {certificateAuthority: opts.caPem, minVersion: 'TLSv1.3', checkServerIdentity: controlServerIdentity(opts.caPem, opts.apiUrl)},
      headers: {
        'user-agent': 'mezu-cli',
        ...(opts.token ? {authorization: `Bearer ${opts.token}`} : {}),
      },
      timeout: {request: opts.timeoutMs ?? 30_000},
      retry: {limit: 2, methods: ['GET'], statusCodes: [502, 503, 504]},
      throwHttpErrors: false,
      responseType: 'text',
    })))
  }

  get<T>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.request<T>('GET', path, undefined, query)
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {})
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body)
  }

  delete<T = void>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    return this.request<T>('DELETE', path, undefined, query)
  }

  /** Follows nextCursor until the list is complete. */
  async all<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T[]> {
    const out: T[] = []
    let cursor: string | undefined
    do {
      const page = await this.get<{items: T[]; nextCursor: string | null}>(path, {...query, limit: 500, cursor})
      out.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    return out
  }

  async request<T>(method: Method, path: string, body?: unknown, query?: Record<string, string | number | boolean | undefined>): Promise<T> {
    const searchParams: Record<string, string> = {}
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) searchParams[k] = String(v)
    let res
    try {
      const http = await this.client()
      res = await http(path.replace(/^\//, ''), {method, json: body, searchParams})
    } catch (error) {
      throw networkError(error, this.opts.apiUrl)
    }
    if (res.statusCode === 204) return undefined as T
    let parsed: unknown
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined
    } catch {
      throw new MezuError('network', `${this.opts.apiUrl} answered ${res.statusCode} with a body that is not JSON; is it a Mezusphere control plane?`)
    }
    if (res.statusCode >= 400) {
      const err = (parsed as ApiErrorBody | undefined)?.error
      // What the person typed did not pass the API's validation: a usage error, like a bad flag.
      const exit = (res.statusCode === 400 && err?.code === 'invalid_request') || res.statusCode === 422 ? 2 : 1
      throw new MezuError(err?.code ?? 'http_' + res.statusCode, err?.message ?? `the platform answered ${res.statusCode}`, exit, res.statusCode, err?.problems)
    }
    return parsed as T
  }
}

export function networkError(error: unknown, apiUrl: string): MezuError {
  if (error instanceof MezuError) return error
  const e = error as RequestError
  const code = e.code ?? ''
  if (code === NOT_CONTROL_PLANE) return new MezuError('ca_untrusted', e.message)
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new MezuError('ca_untrusted', `${apiUrl} presented a certificate the pinned CA did not sign (${code}); check --ca-file / MEZU_CA_FILE, or log in again`)
  }
  if (code === 'ECONNREFUSED') return new MezuError('network', `cannot reach ${apiUrl}: connection refused; is the platform running (mezu platform start)?`)
  if (code === 'ETIMEDOUT') return new MezuError('network', `${apiUrl} did not answer in time`)
  return new MezuError('network', `cannot reach ${apiUrl}: ${e.message ?? String(error)}`)
}
