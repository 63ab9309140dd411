import {closest} from './suggest.js'
import {MezuError, stripAnsi} from './errors.js'

interface FlagSpec {
  name: string
  char?: string
  description?: string
  options?: readonly string[]
  allowNo?: boolean
}

interface ArgSpec {
  name: string
  description?: string
}

/** What the parser knew about the command, to name flags and guess what was meant. */
export interface CommandShape {
  /** `mezu projects get` */
  display: string
  flags: Record<string, FlagSpec>
  args: Record<string, ArgSpec>
  /** flags every command takes (--json, --api-url, …), left out when listing what a command takes */
  global: string[]
}

/**
 * Turns whatever oclif's parser threw into one plain sentence naming the flag or argument and
 * what is accepted (exit 2). oclif's own texts ("The following error occurred:", "Parsing --x
 * \n\tExpected an integer…") are matched here, in one place, and nowhere else.
 */
export function usageError(error: unknown, shape: CommandShape): MezuError {
  const e = error as {message?: string; flags?: string[]; args?: unknown[]}
  const raw = stripAnsi(e?.message ?? String(error)).replace(/\n?See more help with --help\s*$/, '').trim()
  return new MezuError('usage', sentence(raw, e, shape), 2)
}

function sentence(raw: string, e: {flags?: string[]; args?: unknown[]}, shape: CommandShape): string {
  let m: RegExpExecArray | null
  if ((m = /^Nonexistent flags?: (.+)$/s.exec(raw))) {
    return m[1].split(', ').map((f) => unknownFlag(f, shape)).join('; ')
  }
  if ((m = /^Unexpected flag (\S+)/.exec(raw))) return unknownFlag(m[1], shape)
  if ((m = /^Unexpected arguments?: (.+)$/s.exec(raw))) {
    const takes = Object.keys(shape.args)
    const expected = takes.length === 0 ? 'takes no arguments' : `takes ${takes.length === 1 ? 'one argument' : `${takes.length} arguments`} (${takes.map((a) => a.toUpperCase()).join(' ')})`
    return `too many arguments: ${m[1].split(', ').map((a) => `"${a}"`).join(', ')} not expected; ${shape.display} ${expected}`
  }
  if (/^Missing \d+ required args?/.test(raw)) {
    const missing = (e.args as ArgSpec[] | undefined)?.filter((a) => a?.name) ?? []
    const names = missing.length > 0 ? missing : Object.values(shape.args).slice(0, 1)
    return names.map((a) => `missing argument ${a.name.toUpperCase()}${a.description ? ` (${a.description})` : ''}: ${shape.display} ${a.name.toUpperCase()}`).join('; ')
  }
  if ((m = /^Expected --([\w-]+)=(.*) to be one of: (.+)$/s.exec(raw))) return `--${m[1]} must be one of ${m[3]}, got "${m[2]}"`
  if ((m = /^Flag --([\w-]+) expects one of these values: (.+)$/s.exec(raw))) return `--${m[1]} needs a value, one of ${m[2]}`
  if ((m = /^Flag --([\w-]+) expects a value$/.exec(raw))) return `--${m[1]} needs a value${describe(shape, m[1])}`
  if ((m = /^Flag --([\w-]+) can only be specified once$/.exec(raw))) return `--${m[1]} was given more than once; give it once`
  if ((m = /^Parsing --([\w-]+)\s*\n\s*(.*)$/s.exec(raw))) return `--${m[1]} ${parseProblem(m[2].trim())}`
  if ((m = /^The following errors? occurred:\s*(.+)$/s.exec(raw))) {
    return m[1].split('\n').map((r) => validationReason(r.trim(), shape)).filter(Boolean).join('; ')
  }
  return raw.replace(/\s*\n\s*/g, ' ')
}

function unknownFlag(given: string, shape: CommandShape): string {
  const name = given.replace(/^-+/, '').replace(/=.*$/, '')
  const known = Object.values(shape.flags).flatMap((f) => [f.name, ...(f.allowNo ? [`no-${f.name}`] : [])])
  const guess = closest(name, known)
  if (guess) return `unknown flag ${given.replace(/=.*$/, '')} for ${shape.display}; did you mean --${guess}?`
  const own = Object.values(shape.flags).filter((f) => !shape.global.includes(f.name)).map((f) => `--${f.name}`)
  return `unknown flag ${given.replace(/=.*$/, '')} for ${shape.display}; ${own.length > 0 ? `it takes ${own.join(', ')} and the global flags` : 'it takes only the global flags'}`
}

function parseProblem(text: string): string {
  let m: RegExpExecArray | null
  if ((m = /^Expected an integer but received: (.*)$/.exec(text))) return `must be a whole number, got "${m[1]}"`
  if ((m = /^Expected an integer greater than or equal to (-?\d+) but received: (.*)$/.exec(text))) return `must be a whole number of at least ${m[1]}, got "${m[2]}"`
  if ((m = /^Expected an integer less than or equal to (-?\d+) but received: (.*)$/.exec(text))) return `must be a whole number of at most ${m[1]}, got "${m[2]}"`
  // Our own parse functions throw sentences that start with the flag already.
  return text.replace(/^--[\w-]+:?\s+/, '').replace(/\s*\n\s*/g, ' ')
}

function validationReason(reason: string, shape: CommandShape): string {
  let m: RegExpExecArray | null
  if ((m = /^Missing required flag:?\s*-*([\w-]+)/.exec(reason))) return `missing required flag --${m[1]}${describe(shape, m[1])}`
  if ((m = /^--([\w-]+)(=\S*)? cannot also be provided when using --([\w-]+)$/.exec(reason))) return `--${m[1]} cannot be used together with --${m[3]}; give one of them`
  if ((m = /^All of the following must be provided when using --([\w-]+): (.+)$/.exec(reason))) return `--${m[1]} also needs ${m[2]}`
  if ((m = /^(Exactly|At least) one of the following must be provided: (.+)$/.exec(reason))) return `give ${m[1].toLowerCase()} one of ${m[2]}`
  return reason
}

function describe(shape: CommandShape, flag: string): string {
  const f = shape.flags[flag]
  if (!f) return ''
  if (f.options?.length) return ` (one of ${f.options.join(', ')})`
  return f.description ? ` (${f.description})` : ''
}
