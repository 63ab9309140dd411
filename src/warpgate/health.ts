import {EventEmitter} from 'node:events'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import {type Clock, systemClock} from './clock.js'

/** The result of one look at the local service. */
export interface ProbeResult {
  healthy: boolean
  /** why it is unhealthy (or what answered), for logs and for the edge */
  detail: string
}

/**
 * One look at the service at `url`: GET `healthcheck` (healthy when the status is below 500) or,
 * without a healthcheck path, a TCP connect. Never throws; a timeout counts as unhealthy.
 */
export function probeOrigin(url: string, healthcheck: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const u = new URL(url)
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return new Promise((resolve) => {
    let settled = false
    const done = (r: ProbeResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(r)
    }
    let cleanup = () => {}
    const timer = setTimeout(() => {
      cleanup()
      done({healthy: false, detail: `no answer within ${timeoutMs} ms`})
    }, timeoutMs)
    if (!healthcheck) {
      const socket = net.connect({host, port})
      cleanup = () => socket.destroy()
      socket.once('connect', () => {
        socket.destroy()
        done({healthy: true, detail: `tcp ${host}:${port} accepts connections`})
      })
      socket.once('error', (e) => done({healthy: false, detail: `tcp ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`}))
      return
    }
    // A fresh connection per probe (agent: false): a keep-alive socket would say nothing about
    // whether the service still accepts new ones.
    const get = u.protocol === 'https:' ? https.get : http.get
    const req = get(new URL(healthcheck, url), {agent: false, headers: {'user-agent': 'mezu-warpgate-health'}}, (res) => {
      res.resume()
      const status = res.statusCode ?? 0
      done({healthy: status < 500, detail: `GET ${healthcheck} → ${status}`})
    })
    cleanup = () => req.destroy()
    req.once('error', (e) => done({healthy: false, detail: `GET ${healthcheck}: ${(e as NodeJS.ErrnoException).code ?? e.message}`}))
  })
}

export interface HealthCheckerOptions {
  url: string
  healthcheck?: string
  intervalMs: number
  timeoutMs: number
  clock?: Clock
  /** replaces probeOrigin (kept for callers that probe something else) */
  probe?: () => Promise<ProbeResult>
}

export interface HealthCheckerEvents {
  /** after every probe */
  check: [ProbeResult]
  /** only when the state differs from the previous probe's (the first probe always reports) */
  change: [ProbeResult]
}

/**
 * Looks at the local service every `intervalMs` and reports transitions only, so the Warpgate
 * tells the edge once per change rather than once per probe. Probes never overlap: the next one
 * is scheduled when the last one ends.
 */
export class HealthChecker extends EventEmitter<HealthCheckerEvents> {
  private state: boolean | undefined
  private timer: unknown
  private running = false
  private generation = 0
  private readonly clock: Clock
  private readonly probe: () => Promise<ProbeResult>

  constructor(private readonly opts: HealthCheckerOptions) {
    super()
    if (!(opts.intervalMs > 0) || !(opts.timeoutMs > 0)) throw new RangeError('health checks need intervalMs > 0 and timeoutMs > 0')
    this.clock = opts.clock ?? systemClock
    this.probe = opts.probe ?? (() => probeOrigin(opts.url, opts.healthcheck, opts.timeoutMs))
  }

  /** undefined until the first probe has answered */
  get healthy(): boolean | undefined {
    return this.state
  }

  /** Probes at once, then every intervalMs. */
  start(): void {
    if (this.running) return
    this.running = true
    void this.tick(++this.generation)
  }

  stop(): void {
    this.running = false
    this.generation++
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private async tick(generation: number): Promise<void> {
    this.timer = undefined
    let result: ProbeResult
    try {
      result = await this.probe()
    } catch (error) {
      result = {healthy: false, detail: `probe failed: ${(error as Error).message}`}
    }
    // A stop() (and maybe a start()) while this probe ran makes it stale: the newer loop reports.
    if (!this.running || generation !== this.generation) return
    const changed = this.state !== result.healthy
    this.state = result.healthy
    this.emit('check', result)
    if (changed) this.emit('change', result)
    this.timer = this.clock.setTimeout(() => void this.tick(generation), this.opts.intervalMs)
  }
}
