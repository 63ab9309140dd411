import type {IncomingHttpHeaders} from 'node:http'
import type {Route} from '../../src/lib/api-types/index.js'
import {IDENTITY_HEADER_PREFIX} from '../../src/protocol/headers.js'

/** The request as the gate sees it: enough to decide, nothing to write to. */
export interface GateRequest {
  method: string
  /** normalised path, without the query */
  path: string
  host: string
  headers: IncomingHttpHeaders
}

/** The gate's decision, as data: forward with these headers set, or answer the end user itself. */
export type GateDecision =
  | {action: 'forward'; setHeaders: Record<string, string>}
  | {action: 'respond'; status: number; headers: Record<string, string | string[]>; body: string | Buffer}

/**
 * The identity-aware step of the pipeline (login, policy, identity headers: issue 5). It runs after
 * routing and before forwarding, and must delete every inbound `mezu-*` header from `req.headers`.
 */
export type Gate = (req: GateRequest, route: Route, clientIp: string) => Promise<GateDecision>

/** Deletes every inbound header starting with `mezu-` (Node lower-cases names; `_` variants too). */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) {
    if (name.replaceAll('_', '-').startsWith(IDENTITY_HEADER_PREFIX)) delete headers[name]
  }
}

/**
 * MINIMAL DEFAULT until issue 5's gate is plugged in: strips spoofable identity headers and
 * forwards everything, i.e. treats every route as public.
 */
export const publicGate: Gate = async (req) => {
  stripIdentityHeaders(req.headers)
  return {action: 'forward', setHeaders: {}}
}

/** An error the edge answers itself. */
export interface EdgeProblem {
  status: number
  /** stable code, e.g. unknown-host, service-offline */
  code: string
  title: string
  message: string
  requestId: string
}

/** Renders an error page: HTML for browsers, JSON for API clients (templates/pages plug in here). */
export type PageRenderer = (problem: EdgeProblem, accept: string | undefined) => {headers: Record<string, string>; body: string}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** MINIMAL DEFAULT renderer until templates/pages land: a bare HTML page or a JSON error object. */
export const minimalPages: PageRenderer = (p, accept) => {
  if (accept?.includes('text/html')) {
    const body = `<!doctype html><meta charset="utf-8"><title>${p.status} ${escapeHtml(p.title)}</title><h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.message)}</p><p><small>request ${escapeHtml(p.requestId)} · Mezusphere edge</small></p>\n`
    return {headers: {'content-type': 'text/html; charset=utf-8'}, body}
  }
  return {headers: {'content-type': 'application/json'}, body: JSON.stringify({error: {code: p.code, message: p.message, requestId: p.requestId}}) + '\n'}
}

/** One request's metadata for `mezu logs`: never a body, never a header value. */
export interface RequestLogEntry {
  time: string
  requestId: string
  routeId: string | null
  host: string
  method: string
  path: string
  status: number
  durationMs: number
  bytesOut: number
  clientIp: string
  tlsVersion: string | null
  protocol: string
  /** set when the edge answered instead of the origin */
  error?: string
}

export interface RequestLogSink {
  record(entry: RequestLogEntry): void
}

/** MINIMAL DEFAULT sink until the request-log ring lands: keeps nothing. */
export const discardRequestLog: RequestLogSink = {record() {}}
