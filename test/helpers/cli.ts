import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'run.js')
/** The lean server runtime, `mezu-warpgate`. */
export const WARPGATE_BIN = join(dirname(BIN), 'warpgate.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (throws a readable error when it is not) */
  json<T = any>(): T
}

/** Runs the real built `mezu` binary (or `bin`, e.g. WARPGATE_BIN) with CI=1 and no TTY. */
export function mezu(args: string[], opts: {env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number; bin?: string} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, CI: '1', NO_COLOR: '1', MEZU_TOKEN: '', MEZU_API_URL: '', MEZU_CA_FILE: '', MEZU_PROJECT: '', MEZU_ENV: '', ...opts.env}
    for (const k of Object.keys(env)) if (env[k] === '') delete env[k]
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout of mezu ${args.join(' ')} is not JSON:\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
    child.stdin.end(opts.stdin ?? '')
  })
}

export interface RunningCli {
  child: ReturnType<typeof spawn>
  /** resolves with the first stderr line that parses as JSON and passes `match` */
  stderrJson<T = any>(match?: (v: any) => boolean, deadlineMs?: number): Promise<T>
  /** resolves with the first stderr text matching `re` */
  stderrMatch(re: RegExp, deadlineMs?: number): Promise<RegExpExecArray>
  done: Promise<CliResult>
}

/** Starts the built `mezu` binary (CI=1, no TTY) and lets the test read its output while it runs. */
export function spawnMezu(args: string[], opts: {env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}): RunningCli {
  const env: NodeJS.ProcessEnv = {...process.env, CI: '1', NO_COLOR: '1', MEZU_TOKEN: '', MEZU_API_URL: '', MEZU_CA_FILE: '', MEZU_PROJECT: '', MEZU_ENV: '', ...opts.env}
  for (const k of Object.keys(env)) if (env[k] === '') delete env[k]
  const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => {
    stderr += d
    for (const w of [...waiters]) w()
  })
  child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  let closed = false
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      closed = true
      for (const w of [...waiters]) w()
      resolve({
        code: code ?? (signal ? 128 : -1), stdout, stderr,
        json() {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout of mezu ${args.join(' ')} is not JSON:\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
  })
  const waitFor = <T>(find: () => T | undefined, what: string, deadlineMs: number) => new Promise<T>((resolve, reject) => {
    const check = () => {
      const v = find()
      if (v !== undefined) finish(() => resolve(v))
      else if (closed) finish(() => reject(new Error(`mezu exited before ${what}; stderr:\n${stderr}`)))
    }
    const deadline = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${deadlineMs} ms; stderr:\n${stderr}`))), deadlineMs)
    const finish = (fn: () => void) => {
      clearTimeout(deadline)
      waiters.delete(check)
      fn()
    }
    waiters.add(check)
    check()
  })
  return {
    child,
    done,
    stderrJson: (match = () => true, deadlineMs = 30_000) => waitFor(() => {
      for (const line of stderr.split('\n')) {
        try {
          const v = JSON.parse(line)
          if (match(v)) return v
        } catch {
          // not a JSON line
        }
      }
      return undefined
    }, 'matching JSON line on stderr', deadlineMs),
    stderrMatch: (re, deadlineMs = 30_000) => waitFor(() => re.exec(stderr) ?? undefined, `stderr matching ${re}`, deadlineMs),
  }
}
