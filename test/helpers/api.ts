import type {IncomingMessage} from 'node:http'
import {request} from 'node:https'

export interface HttpResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
  text: string
}

/** A raw HTTPS call with the platform CA pinned (never rejectUnauthorized: false). */
export function api(baseUrl: string, caPem: string, method: string, path: string, opts: {token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string>} = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, baseUrl)
    const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body))
    const headers: Record<string, string> = {...(payload !== undefined ? {'content-type': 'application/json'} : {}), ...opts.headers}
    if (opts.token) headers.authorization = `Bearer ${opts.token}`
    const req = request(url, {method, ca: caPem, headers}, (res) => {
      readText(res).then(({text, json}) => resolve({status: res.statusCode ?? 0, headers: res.headers, body: json, text}), reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

export async function loginToken(baseUrl: string, caPem: string, email: string, password: string): Promise<string> {
  const r = await api(baseUrl, caPem, 'POST', '/v1/sessions', {body: {email, password}})
  if (r.status !== 201) throw new Error(`login failed: ${r.status} ${r.text}`)
  return r.body.token
}

/** A response's body as text, and parsed when it is JSON (undefined when it is not). */
export function readText(res: IncomingMessage): Promise<{text: string; json: unknown}> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('error', reject)
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let json: unknown
      try {
        json = text ? JSON.parse(text) : undefined
      } catch {
        json = undefined
      }
      resolve({text, json})
    })
  })
}
