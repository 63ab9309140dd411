import type {IncomingHttpHeaders} from 'node:http'
import type {RequestLogEntry, Route} from '../../src/lib/api-types/index.js'
import {IDENTITY_HEADER_PREFIX} from '../../src/protocol/headers.js'

/** The request as the gate sees it: enough to decide, nothing to write to. */
export interface GateRequest {
  method: string
  /** normalised path, without the query */
  path: string
  host: string
  headers: IncomingHttpHeaders
  /** the raw request target, header list and version, for the HTTP shape checks */
  url: string
  rawHeaders: string[]
  httpVersion: string
  /** the request body, for the edge's own forms (POST /.mezu/logout); the gate never reads a forwarded request's */
  body?: AsyncIterable<Buffer>
  /** the edge's id for this request, shown on the refusal pages the gate writes */
  requestId?: string
}

/** The gate's decision, as data: forward with these headers set, or answer the end user itself. */
export type GateDecision =
  | {action: 'forward'; setHeaders: Record<string, string>; /** normalised target to forward instead of the routed path */ target?: string}
  | {action: 'respond'; status: number; headers: Record<string, string | string[]>; body: string | Buffer}

/**
 * The identity-aware step of the pipeline (login, policy, identity headers: issue 5). It runs after
 * routing and before forwarding, and must delete every inbound `mezu-*` header from `req.headers`.
 */
export type Gate = (req: GateRequest, route: Route, clientIp: string) => Promise<GateDecision>

const PREFIX_FIRST = IDENTITY_HEADER_PREFIX.charCodeAt(0)

/** Deletes every inbound header starting with `mezu-` (Node lower-cases names; `_` variants too). */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) {
    // the prefix starts with "m": other names need no rewriting to be ruled out
    if (name.charCodeAt(0) === PREFIX_FIRST && name.replaceAll('_', '-').startsWith(IDENTITY_HEADER_PREFIX)) delete headers[name]
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

/** An error the edge answers itself (the shape of the periphery's ErrorPageInput). */
export interface EdgeProblem {
  status: number
  /** stable code, e.g. unknown_host, service_offline */
  code: string
  title: string
  message: string
  requestId: string
}

/** A page ready to write (the shape of the periphery's RenderedPage). */
export interface RenderedPage {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Renders an error page: HTML for browsers, JSON for API clients. The periphery's
 * `Pages.error(req, page)` (templates/pages) has this shape and plugs in as is.
 */
export type PageRenderer = (req: {method?: string; headers: IncomingHttpHeaders}, problem: EdgeProblem) => RenderedPage

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** MINIMAL DEFAULT renderer until templates/pages land: a bare HTML page or a JSON error object. */
export const minimalPages: PageRenderer = (req, p) => {
  if (req.headers.accept?.includes('text/html')) {
    const body = `<!doctype html><meta charset="utf-8"><title>${p.status} ${escapeHtml(p.title)}</title><h1>${escapeHtml(p.title)}</h1><p>${escapeHtml(p.message)}</p><p><small>request ${escapeHtml(p.requestId)} · Mezusphere edge</small></p>\n`
    return {status: p.status, headers: {'content-type': 'text/html; charset=utf-8'}, body}
  }
  return {status: p.status, headers: {'content-type': 'application/json'}, body: JSON.stringify({error: {code: p.code, message: p.message}}) + '\n'}
}

/** One request's metadata for `mezu logs`: never a body. */
export type {RequestLogEntry}

/** Where the edge appends request metadata; the periphery's RequestLog ring has this shape. */
export interface RequestLogSink {
  append(entry: RequestLogEntry): void
}

/** MINIMAL DEFAULT sink until the request-log ring lands: keeps nothing. */
export const discardRequestLog: RequestLogSink = {append() {}}
