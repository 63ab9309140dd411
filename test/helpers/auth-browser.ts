import type {IncomingMessage} from 'node:http'
import {request} from 'node:https'
import type {TestPlatform} from './platform.js'

export interface PageResponse {
  status: number
  headers: IncomingMessage['headers']
  text: string
}

/**
 * A browser on the real platform's auth.<domain>: HTTPS to the edge's bound port with SNI and
 * Host set to auth.<domain>, the platform CA pinned, and a cookie jar.
 */
export class AuthBrowser {
  readonly cookies = new Map<string, string>()
  readonly host: string
  readonly origin: string
  /** The client address to connect from (any 127.0.0.0/8 address reaches the edge); change it to move the browser. */
  localAddress: string | undefined

  constructor(private readonly p: TestPlatform) {
    this.host = `auth.${p.domain}`
    this.origin = `https://${this.host}:${p.ports.edge}`
  }

  get(path: string): Promise<PageResponse> {
    return this.send('GET', path)
  }

  /** POSTs a form; `fields` are sent as given (so a test can leave the CSRF token out). */
  post(path: string, fields: Record<string, string>): Promise<PageResponse> {
    return this.send('POST', path, new URLSearchParams(fields).toString())
  }

  /** Signs in with the login form on auth.<domain>; resolves with the POST's answer. */
  async signIn(email: string, password: string, returnUrl = ''): Promise<PageResponse> {
    const page = await this.get(`/login${returnUrl ? `?return=${encodeURIComponent(returnUrl)}` : ''}`)
    const res = await this.post('/login', {csrf: formField(page.text, 'csrf') ?? '', return: formField(page.text, 'return') ?? '', email, password})
    if (res.status !== 303) throw new Error(`sign-in answered ${res.status}: ${res.text.slice(0, 300)}`)
    return res
  }

  send(method: string, path: string, body?: string): Promise<PageResponse> {
    return new Promise((resolve, reject) => {
      const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
      const req = request({
        host: '127.0.0.1', port: this.p.ports.edge!, servername: this.host, ca: this.p.caPem, method, path, agent: false, localAddress: this.localAddress,
        headers: {
          host: `${this.host}:${this.p.ports.edge}`,
          ...(cookie ? {cookie} : {}),
          ...(body !== undefined ? {'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body))} : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          for (const c of res.headers['set-cookie'] ?? []) {
            const pair = c.split(';')[0]!
            const eq = pair.indexOf('=')
            const [name, value] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()]
            if (/max-age=0/i.test(c) || value === '') this.cookies.delete(name)
            else this.cookies.set(name, value)
          }
          resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8')})
        })
      })
      req.on('error', reject)
      req.end(body)
    })
  }
}

/** The value of input `name` in an HTML form (hidden or not). */
export function formField(html: string, name: string): string | undefined {
  const m = new RegExp(`name="${name}"[^>]*? value="([^"]*)"`).exec(html)
  return m ? m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>') : undefined
}
