import {spawn} from 'node:child_process'
import {BIN} from './cli.js'

/** The real `mezu` on a pseudo-terminal (util-linux `script`), so the TTY-only paths run: prompts, progress. */
export interface PtyRun {
  /** resolves once the output so far matches, or rejects at the deadline */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>
  type(text: string): void
  done: Promise<{code: number; output: string}>
  output(): string
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/**
 * Runs `mezu` (or `opts.bin`) on a terminal without CI set and with the update notifier off (a
 * terminal run would otherwise ask registry.npmjs.org); `env` values of '' unset a variable.
 */
export function mezuOnPty(args: string[], env: NodeJS.ProcessEnv, opts: {bin?: string} = {}): PtyRun {
  // `exec`: script runs the command through $SHELL, and dash (Debian's sh, CI's default) waits in a
  // child of its own, so Ctrl-C would kill the shell (exit 130) instead of reaching only mezu
  const command = 'exec ' + [process.execPath, opts.bin ?? BIN, ...args].map(quote).join(' ')
  const inherited: NodeJS.ProcessEnv = {...process.env}
  delete inherited.CI
  const fullEnv: NodeJS.ProcessEnv = {...inherited, NO_COLOR: '1', TERM: 'dumb', MEZU_NO_UPDATE_NOTIFIER: '1', ...env}
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === '') delete fullEnv[k]
  const child = spawn('script', ['-qefc', command, '/dev/null'], {env: fullEnv, stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  const waiters: Array<() => void> = []
  const onData = (d: Buffer) => {
    out += d.toString('utf8')
    for (const w of [...waiters]) w()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const done = new Promise<{code: number; output: string}>((resolve) => child.on('close', (code) => resolve({code: code ?? -1, output: out})))
  return {
    output: () => out,
    type: (text) => child.stdin.write(text),
    done,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out)) return
          clearTimeout(timer)
          waiters.splice(waiters.indexOf(check), 1)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1)
          reject(new Error(`no ${pattern} on the terminal within ${timeoutMs} ms; got:\n${out}`))
        }, timeoutMs)
        waiters.push(check)
        check()
      })
    },
  }
}
