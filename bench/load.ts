import {execFileSync, spawn} from 'node:child_process'
import {lookup as dnsLookup} from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import type {LookupFunction} from 'node:net'
import {Readable} from 'node:stream'

/** Where requests go: a base URL, the CA that signs it (https), and headers sent with every request. */
export interface Endpoint {
  url: string
  caPem?: string
  headers?: Record<string, string>
}

/** Called right before and after the measured part of a load (not the warm-up). */
export interface Around {
  start(): void
  end(): void
}

export interface SmallResult {
  tool: 'node' | 'wrk'
  requests: number
  errors: number
  rps: number
  p50Ms: number
  p99Ms: number
}

/** *.localhost is loopback (RFC 6761) whatever the resolver says, as browsers and curl treat it. */
const lookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    if ((options as {all?: boolean}).all) return (callback as unknown as (e: null, a: Array<{address: string; family: number}>) => void)(null, [{address: '127.0.0.1', family: 4}])
    return callback(null, '127.0.0.1', 4)
  }
  dnsLookup(hostname, options, callback)
}

function agentFor(ep: Endpoint, maxSockets: number): http.Agent {
  const opts = {keepAlive: true, maxSockets, maxFreeSockets: maxSockets, lookup}
  return ep.url.startsWith('https:') ? new https.Agent({...opts, ca: ep.caPem}) : new http.Agent(opts)
}

function request(ep: Endpoint, agent: http.Agent, method: string, path: string, body?: {size: number; stream: Readable}): Promise<{status: number; bytes: number; text: string}> {
  const url = new URL(path, ep.url)
  const mod = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {...ep.headers}
    if (body) headers['content-length'] = body.size
    const req = mod.request(url, {method, agent, headers}, (res) => {
      let bytes = 0
      let text = ''
      res.on('data', (c: Buffer) => {
        bytes += c.length
        if (text.length < 256) text += c.subarray(0, 256).toString()
      })
      res.on('end', () => resolve({status: res.statusCode ?? 0, bytes, text}))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body) body.stream.pipe(req)
    else req.end()
  })
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

export function hasWrk(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v wrk'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/**
 * `connections` keep-alive connections, each sending GET /small back to back for `durationMs`
 * (after `warmupMs` not counted). Uses wrk when installed (it does not verify TLS, which changes
 * nothing for throughput), else this Node client (which then shares the CPU it measures).
 */
export async function smallRequests(ep: Endpoint, o: {connections: number; durationMs: number; warmupMs: number; useWrk?: boolean; around?: Around}): Promise<SmallResult> {
  if (o.useWrk ?? hasWrk()) return wrkSmall(ep, o)
  const agent = agentFor(ep, o.connections)
  const run = async (ms: number, latencies: number[] | undefined) => {
    const end = Date.now() + ms
    let requests = 0
    let errors = 0
    await Promise.all(Array.from({length: o.connections}, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint()
        try {
          const r = await request(ep, agent, 'GET', '/small')
          if (r.status !== 200) errors++
          else {
            requests++
            latencies?.push(Number(process.hrtime.bigint() - t0) / 1e6)
          }
        } catch {
          errors++
        }
      }
    }))
    return {requests, errors}
  }
  if (o.warmupMs > 0) await run(o.warmupMs, undefined)
  const latencies: number[] = []
  const t0 = Date.now()
  o.around?.start()
  const {requests, errors} = await run(o.durationMs, latencies)
  o.around?.end()
  const seconds = (Date.now() - t0) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {tool: 'node', requests, errors, rps: requests / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99)}
}

async function wrkSmall(ep: Endpoint, o: {connections: number; durationMs: number; warmupMs: number; around?: Around}): Promise<SmallResult> {
  const url = new URL('/small', ep.url)
  // wrk resolves names with getaddrinfo, which need not know *.localhost (glibc without
  // systemd-resolved does not): dial 127.0.0.1 and keep the name in Host, as run.sh does.
  const extra: Record<string, string> = {}
  if (url.hostname.endsWith('.localhost')) {
    extra.Host = url.host
    url.hostname = '127.0.0.1'
  }
  const headers = Object.entries({...extra, ...ep.headers}).flatMap(([k, v]) => ['-H', `${k}: ${v}`])
  const threads = String(Math.min(2, o.connections))
  const wrk = (seconds: number) => new Promise<string>((resolve, reject) => {
    const p = spawn('wrk', ['-t', threads, '-c', String(o.connections), '-d', `${Math.max(1, Math.round(seconds))}s`, '--latency', ...headers, url.toString()], {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.on('error', reject)
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`))))
  })
  if (o.warmupMs > 0) await wrk(o.warmupMs / 1000)
  o.around?.start()
  const out = await wrk(o.durationMs / 1000)
  o.around?.end()
  const ms = (label: string) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out)
    if (!m) return NaN
    return Number(m[1]) * ({us: 0.001, ms: 1, s: 1000} as Record<string, number>)[m[2]]
  }
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0)
  return {tool: 'wrk', requests, errors, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50Ms: ms('50'), p99Ms: ms('99')}
}

/** One connection downloading `mb` MiB; MiB/s. */
export async function download(ep: Endpoint, mb: number): Promise<number> {
  const agent = agentFor(ep, 1)
  const t0 = process.hrtime.bigint()
  const r = await request(ep, agent, 'GET', `/large?mb=${mb}`)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  agent.destroy()
  if (r.status !== 200 || r.bytes !== mb * 1024 * 1024) throw new Error(`download: status ${r.status}, ${r.bytes} bytes instead of ${mb} MiB`)
  return mb / seconds
}

/** One connection uploading `mb` MiB with Content-Length; MiB/s (the origin confirms the count). */
export async function upload(ep: Endpoint, mb: number): Promise<number> {
  const agent = agentFor(ep, 1)
  const chunk = Buffer.alloc(64 * 1024, 7)
  const size = mb * 1024 * 1024
  let left = size
  const stream = new Readable({
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(left, chunk.length)
      left -= n
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n))
    },
  })
  const t0 = process.hrtime.bigint()
  const r = await request(ep, agent, 'POST', '/upload', {size, stream})
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  agent.destroy()
  if (r.status !== 200 || r.text.trim() !== String(size)) throw new Error(`upload: status ${r.status}, origin counted ${r.text.trim()} of ${size} bytes`)
  return mb / seconds
}

/** Waits until GET /small answers 200 (the contract run.sh uses too). */
export async function waitReady(ep: Endpoint, timeoutMs = 20_000): Promise<void> {
  const agent = agentFor(ep, 1)
  const end = Date.now() + timeoutMs
  let last = ''
  try {
    while (Date.now() < end) {
      try {
        const r = await request(ep, agent, 'GET', '/small')
        if (r.status === 200) return
        last = `status ${r.status}`
      } catch (error) {
        last = (error as Error).message
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    agent.destroy()
  }
  throw new Error(`${ep.url} did not answer GET /small within ${timeoutMs} ms (${last})`)
}
