import {type ChildProcess, spawn} from 'node:child_process'
import {statSync} from 'node:fs'
import {EventEmitter} from 'node:events'
import {createInterface} from 'node:readline'
import {MezuError} from '../lib/errors.js'
import {probeOrigin} from './health.js'

export interface ServiceProcessOptions {
  /** shown as the `[name] ` prefix of every output line */
  name: string
  command: string | string[]
  cwd: string
  /** added to the Warpgate's environment */
  env?: Record<string, string>
  /** where the service will listen; its port is also given to the service as PORT unless env sets it */
  url: string
  healthcheck?: string
  /** how long the service has to answer after starting (default 30 s) */
  readyTimeoutMs?: number
  /** between SIGTERM and SIGKILL on stop (default 5 s) */
  graceMs?: number
  /** receives each prefixed output line; default: the Warpgate's own stdout / stderr */
  output?: (line: string, stream: 'stdout' | 'stderr') => void
  /** how often readiness is probed (default 100 ms) */
  pollMs?: number
  /** aborting it while start() waits for the service stops the service; start() then rejects with `cancelled` */
  signal?: AbortSignal
}

/** How the service ended. `expected` is true when stop() asked it to. */
export interface ServiceExit {
  code: number | null
  signal: NodeJS.Signals | null
  expected: boolean
}

/** Characters that only mean something to a shell: a string command holding one is run by /bin/sh. */
const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~=%{}\n]/

/**
 * How a command is spawned. An argv array runs as is. A plain string ("node server.js") is split
 * on spaces and run as is too: no shell means no quoting surprises and signals reach the service
 * itself. A string with shell syntax (pipes, `$VAR`, quotes, `a && b`, `X=1 cmd`) was written for
 * a shell, so /bin/sh -c runs it; the process group is signalled on stop, so the service behind
 * the shell stops too.
 */
export function commandArgv(command: string | string[]): {file: string; args: string[]; shell: boolean} {
  if (Array.isArray(command)) return {file: command[0], args: command.slice(1), shell: false}
  if (SHELL_SYNTAX.test(command)) return {file: '/bin/sh', args: ['-c', command], shell: true}
  const [file, ...args] = command.trim().split(/\s+/)
  return {file, args, shell: false}
}

/**
 * The service `mezu tunnel ./service` starts: its output prefixed, readiness awaited with a
 * deadline, stopped with SIGTERM then SIGKILL, and an `exit` event when it dies.
 */
export class ServiceProcess extends EventEmitter<{exit: [ServiceExit]}> {
  /** resolves when the process has ended, however it ended */
  readonly exited: Promise<ServiceExit>
  private stopping = false
  private ended: ServiceExit | undefined
  private readonly tail: string[] = []
  private readonly removeExitHook: () => void

  private constructor(private readonly child: ChildProcess, private readonly opts: ServiceProcessOptions) {
    super()
    const output = opts.output ?? ((line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(line + '\n'))
    const pipeLines = (stream: NodeJS.ReadableStream | null, which: 'stdout' | 'stderr') => {
      if (!stream) return
      createInterface({input: stream, crlfDelay: Infinity}).on('line', (line) => {
        this.tail.push(line)
        if (this.tail.length > 20) this.tail.shift()
        output(`[${opts.name}] ${line}`, which)
      })
    }
    pipeLines(child.stdout, 'stdout')
    pipeLines(child.stderr, 'stderr')
    // The service is in its own process group (so a shell's children are stopped with it); it
    // therefore does not get the terminal's Ctrl-C, and this hook makes sure it never outlives us.
    const onExit = () => this.signal('SIGKILL')
    process.once('exit', onExit)
    this.removeExitHook = () => process.off('exit', onExit)
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.removeExitHook()
        this.ended = {code, signal, expected: this.stopping}
        this.emit('exit', this.ended)
        resolve(this.ended)
      })
    })
  }

  /** Starts the command and resolves once the service answers; rejects (having stopped it) if it dies or the deadline passes. */
  static async start(opts: ServiceProcessOptions): Promise<ServiceProcess> {
    const {file, args} = commandArgv(opts.command)
    if (!isDirectory(opts.cwd)) throw new MezuError('bad_input', `cannot start ${opts.name}: its directory ${opts.cwd} does not exist`)
    const port = new URL(opts.url).port
    const env = {...process.env, ...(port ? {PORT: port} : {}), ...opts.env}
    const child = spawn(file, args, {cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
    const sp = new ServiceProcess(child, opts)
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => child.once('spawn', () => r(undefined)))])
    if (failed) {
      sp.removeExitHook()
      throw new MezuError('bad_input', `cannot start ${opts.name}: ${file}: ${(failed as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : failed.message} (cwd ${opts.cwd})`)
    }
    try {
      await sp.waitReady()
    } catch (error) {
      await sp.stop()
      throw error
    }
    return sp
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** true until the process has exited */
  get running(): boolean {
    return this.ended === undefined
  }

  private async waitReady(): Promise<void> {
    const timeoutMs = this.opts.readyTimeoutMs ?? 30_000
    const deadline = Date.now() + timeoutMs
    const pollMs = this.opts.pollMs ?? 100
    let last = ''
    let died: ServiceExit | undefined
    void this.exited.then((e) => (died = e))
    const aborted = new Promise((r) => this.opts.signal?.addEventListener('abort', r, {once: true}))
    for (;;) {
      if (this.opts.signal?.aborted) throw new MezuError('cancelled', `${this.opts.name} was stopped before it answered`)
      if (died) throw new MezuError('bad_input', `${this.opts.name} exited (${describeExit(died)}) before it answered on ${this.opts.url}${this.lastLines()}`)
      const left = deadline - Date.now()
      if (left <= 0) break
      const r = await probeOrigin(this.opts.url, this.opts.healthcheck, Math.min(2000, Math.max(50, left)))
      if (r.healthy) return
      last = r.detail
      if (died) continue
      await Promise.race([this.exited, aborted, new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))))])
    }
    throw new MezuError('bad_input', `${this.opts.name} did not answer on ${this.opts.url}${this.opts.healthcheck ?? ''} within ${timeoutMs} ms (last: ${last}); set readyTimeoutMs in mezu.json if it needs longer${this.lastLines()}`)
  }

  private lastLines(): string {
    return this.tail.length ? `; its last output:\n  ${this.tail.slice(-5).join('\n  ')}` : ''
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.ended || !this.child.pid) return
    try {
      process.kill(-this.child.pid, sig)
    } catch {
      // the group is gone already
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; safe to call twice. */
  async stop(graceMs = this.opts.graceMs ?? 5000): Promise<ServiceExit> {
    if (this.ended) return this.ended
    this.stopping = true
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs)
    const result = await this.exited
    clearTimeout(timer)
    return result
  }
}

function describeExit(e: ServiceExit): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}
