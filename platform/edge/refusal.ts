/**
 * Refusals the edge answers itself: HTML for browsers, JSON for API clients (Accept:
 * application/json, or anything but GET/HEAD). The renderer is an interface so the lead can put
 * platform/edge/pages.ts behind it; this one is deliberately small.
 */
export interface Refusal {
  status: number
  /** stable machine code, e.g. "forbidden", "unauthenticated", "rate_limited" */
  code: string
  /** one sentence for a person */
  message: string
  /** policy reasons, when a policy decided */
  reasons?: readonly string[]
  /** extra headers (Retry-After, WWW-Authenticate, Location, Set-Cookie) */
  headers?: Record<string, string | string[]>
  /** the edge's id for the request (also in Mezu-Request-Id), so a person can quote it */
  requestId?: string
}

export interface RenderedResponse {
  status: number
  headers: Record<string, string | string[]>
  body: string
}

export interface RefusalRenderer {
  render(refusal: Refusal, format: 'html' | 'json'): RenderedResponse
}

/** Headers on every page the edge writes itself (never on proxied origin responses). */
export function edgePageHeaders(formAction = "'self'"): Record<string, string> {
  return {
    'strict-transport-security': 'max-age=31536000',
    'x-content-type-options': 'nosniff',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  }
}

/** JSON for API clients: they asked for it, or they are not a browser navigating (non-GET). */
export function wantsJson(method: string | undefined, accept: string | string[] | undefined): boolean {
  const a = (Array.isArray(accept) ? accept.join(',') : accept ?? '').toLowerCase()
  if (a.includes('application/json')) return true
  const m = (method ?? 'GET').toUpperCase()
  return m !== 'GET' && m !== 'HEAD'
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

const TITLES: Record<number, string> = {400: 'Bad request', 401: 'Sign-in required', 403: 'Access denied', 404: 'Not found', 413: 'Request too large', 414: 'URL too long', 429: 'Too many requests', 431: 'Headers too large', 503: 'Unavailable'}

export const simpleRenderer: RefusalRenderer = {
  render(r, format) {
    const headers: Record<string, string | string[]> = {...edgePageHeaders(), ...r.headers}
    if (format === 'json') {
      headers['content-type'] = 'application/json; charset=utf-8'
      const error: Record<string, unknown> = {code: r.code, message: r.message}
      if (r.reasons?.length) error.reasons = r.reasons
      if (r.requestId) error.requestId = r.requestId
      return {status: r.status, headers, body: JSON.stringify({error})}
    }
    headers['content-type'] = 'text/html; charset=utf-8'
    const title = TITLES[r.status] ?? 'Error'
    const reasons = r.reasons?.length ? `<p class="reasons">${r.reasons.map(escapeHtml).join(', ')}</p>` : ''
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${r.status} ${escapeHtml(title)}</title>` +
      `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}.reasons{color:#777;font-size:.85em}</style></head>` +
      `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(r.message)}</p>${reasons}<p class="reasons">${r.requestId ? `request ${escapeHtml(r.requestId)} · ` : ''}from the Mezusphere edge</p></body></html>`
    return {status: r.status, headers, body}
  },
}
