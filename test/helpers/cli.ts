import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as JSON (throws a readable error when it is not) */
  json<T = any>(): T
}

/** Runs the real built `mezu` binary with CI=1 and no TTY. */
export function mezu(args: string[], opts: {env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {...process.env, CI: '1', NO_COLOR: '1', MEZU_TOKEN: '', MEZU_API_URL: '', MEZU_CA_FILE: '', MEZU_PROJECT: '', MEZU_ENV: '', ...opts.env}
    for (const k of Object.keys(env)) if (env[k] === '') delete env[k]
    const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
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
