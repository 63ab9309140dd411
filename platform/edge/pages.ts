import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import type {IncomingHttpHeaders, ServerResponse} from 'node:http'
import type {Http2ServerResponse} from 'node:http2'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {HEADER_REQUEST_ID} from '../../src/protocol/headers.js'

/** templates/pages in the source tree and in the package (this file runs from dist/platform/edge). */
export const PAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates', 'pages')

/** An error the edge shows instead of the service's answer. */
export interface ErrorPageInput {
  status: number
  title: string
  message: string
  /** policy reasons and the like; shown as a list, never internals */
  reasons?: string[]
  requestId: string
  /** the JSON error code; derived from the status when absent */
  code?: string
}

export interface LoginPageInput {
  /** the host the user is trying to reach */
  destination: string
  /** where the form posts */
  action: string
  returnTo: string
  csrf: string
  requestId: string
  email?: string
  error?: string
}

/** A page ready to write: status, headers (security headers included) and body. */
export interface RenderedPage {
  status: number
  headers: Record<string, string>
  body: string
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
  408: 'request_timeout', 413: 'payload_too_large', 414: 'uri_too_long', 429: 'too_many_requests', 431: 'headers_too_large',
  500: 'internal', 502: 'bad_gateway', 503: 'service_unavailable', 504: 'gateway_timeout',
}

const HTML_ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;'}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c])
}

/**
 * Fills `{{name}}` with the escaped value and `{{{name}}}` with a fragment the caller built from
 * escaped parts. One pass over the template: a value holding "{{x}}" is never expanded again.
 */
export function renderTemplate(template: string, vars: Record<string, string>, fragments: Record<string, string> = {}): string {
  return template.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_m, raw: string | undefined, name: string | undefined) => {
    if (raw !== undefined) return fragments[raw] ?? ''
    return escapeHtml(vars[name!] ?? '')
  })
}

/** JSON for API clients: anything but a GET/HEAD, or an Accept that asks for JSON and not HTML. */
export function wantsJson(method: string | undefined, accept: string | undefined): boolean {
  const m = (method ?? 'GET').toUpperCase()
  if (m !== 'GET' && m !== 'HEAD') return true
  const a = (accept ?? '').toLowerCase()
  return /application\/([\w.-]+\+)?json/.test(a) && !a.includes('text/html')
}

interface Template {
  text: string
  /** CSP: only this page's own <style> blocks, by hash; no script at all */
  csp: string
}

function loadTemplate(dir: string, file: string, required: string[]): Template {
  const path = join(dir, file)
  const text = readFileSync(path, 'utf8')
  for (const slot of required) if (!text.includes(slot)) throw new Error(`${path} lacks the ${slot} placeholder`)
  if (/<script/i.test(text)) throw new Error(`${path} holds a <script>; the pages' CSP allows no script`)
  const hashes = [...text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`)
  const csp = [
    "default-src 'none'",
    `style-src ${hashes.length ? hashes.join(' ') : "'none'"}`,
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ')
  return {text, csp}
}

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=31536000',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const

/**
 * The edge's own pages (Pomerium's HTTPError): read from templates/pages once at start, then
 * rendered per request from memory.
 */
export class Pages {
  private constructor(private readonly errorPage: Template) {}

  /** Reads the templates; throws at start (naming the file) rather than at the first error. */
  static load(dir = PAGES_DIR): Pages {
    return new Pages(
      loadTemplate(dir, 'error.html', ['{{status}}', '{{title}}', '{{message}}', '{{{reasons}}}', '{{requestId}}']),
    )
  }

  /** An error as HTML for browsers or `{error: {code, message}}` for API clients. */
  error(req: {method?: string; headers: IncomingHttpHeaders}, page: ErrorPageInput): RenderedPage {
    const code = page.code ?? STATUS_CODES[page.status] ?? (page.status >= 500 ? 'internal' : 'bad_request')
    const common = {...SECURITY_HEADERS, [HEADER_REQUEST_ID.toLowerCase()]: page.requestId}
    if (wantsJson(req.method, req.headers.accept)) {
      const body = JSON.stringify({error: {code, message: page.message}})
      return {status: page.status, headers: {...common, 'content-type': 'application/json; charset=utf-8', 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'content-length': String(Buffer.byteLength(body))}, body}
    }
    const reasons = page.reasons?.length ? `<ul>${page.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>` : ''
    const body = renderTemplate(this.errorPage.text, {status: String(page.status), title: page.title, message: page.message, requestId: page.requestId}, {reasons})
    return {status: page.status, headers: {...common, ...this.htmlHeaders(this.errorPage, body)}, body}
  }

  /** The sign-in form served on auth.<domain>. */

  private htmlHeaders(t: Template, body: string): Record<string, string> {
    return {'content-type': 'text/html; charset=utf-8', 'content-security-policy': t.csp, 'x-frame-options': 'DENY', 'content-length': String(Buffer.byteLength(body))}
  }
}

/** Writes a rendered page on HTTP/1.1 or HTTP/2; a HEAD gets the headers only. */
export function writePage(res: ServerResponse | Http2ServerResponse, page: RenderedPage, method?: string): void {
  if (res.headersSent) {
    // Too late for a page: the service's own response had begun. Cut it so the client sees a failure.
    res.destroy()
    return
  }
  for (const [k, v] of Object.entries(page.headers)) res.setHeader(k, v)
  res.statusCode = page.status
  if (method?.toUpperCase() === 'HEAD') res.end()
  else res.end(page.body)
}
