/**
 * The CLI's error catalogue. Every failure the CLI reports has a code from this list (or one
 * the API sent back); scripts branch on `code` in the `--json` error object, never on text.
 */
export const CLI_ERRORS = {
  usage: 'A flag or argument is missing or malformed, or a platform setting lacks one it needs (a wildcard host without an advertised tunnel address, a certificate file without its key) (exit code 2).',
  missing_value: 'A value is needed and no terminal is there to ask for it; the message names the flag.',
  not_logged_in: 'No credentials: run `mezu login` or set MEZU_TOKEN.',
  no_api_url: 'No platform address: pass --api-url or set MEZU_API_URL.',
  ca_untrusted: 'The platform\'s certificate is not signed by the pinned CA, or no CA is pinned yet, or the address answers with a certificate from the platform CA that is not the control plane\'s (an edge\'s or a Warpgate\'s).',
  network: 'The platform could not be reached.',
  no_scope: 'A project (or environment) is needed: pass --project/--env, set MEZU_PROJECT/MEZU_ENV, or run `mezu use`.',
  bad_input: 'A value given to the CLI is invalid (a file, a duration, a name).',
  not_confirmed: 'A destructive command was not confirmed; pass --yes in scripts.',
  bad_config: 'The platform configuration has an unknown key, a wrong type or a bad value, in the config file (named with its line), a MEZU_PLATFORM_* variable or a flag; nothing was started (exit code 2).',
  platform: 'The local platform could not start or its data directory is unusable.',
  already_initialized: 'The data directory already holds a platform.',
  target_not_empty: 'The PostgreSQL database given to `mezu platform migrate` already holds data; nothing was copied.',
  backup_invalid: 'The file is not a Mezusphere backup, is truncated, or was altered after it was written; the message names the part.',
  master_key_mismatch: 'The master key given is not the one the backup was made with (or none was given); the message names the key ids.',
  unknown_context: 'No context by that name (`--context`, MEZU_CONTEXT or `mezu context use`); `mezu context list` shows them.',
  cancelled: 'Stopped by Ctrl-C while waiting (for example for a web login); nothing was saved (exit code 130).',
} as const

export type CliErrorCode = keyof typeof CLI_ERRORS

export class MezuError extends Error {
  override name = 'MezuError'
  constructor(
    /** a CLI code, or the API's error code when the API refused */
    readonly code: CliErrorCode | string,
    message: string,
    readonly exitCode: 1 | 2 = code === 'usage' ? 2 : 1,
    readonly status?: number,
    /** every row of an input file that is wrong (`users import`), as the platform listed them */
    readonly problems?: Array<{line: number | null; field: string | null; message: string}>,
  ) {
    super(message)
  }
}

export interface ErrorBody {
  error: {code: string; message: string; problems?: Array<{line: number | null; field: string | null; message: string}>}
}

export function toErrorBody(err: unknown): {body: ErrorBody; exit: number} {
  if (err instanceof MezuError) return {body: {error: {code: err.code, message: err.message, ...(err.problems ? {problems: err.problems} : {})}}, exit: err.exitCode}
  const e = err as {message?: string; oclif?: {exit?: number}; code?: string; parse?: unknown}
  // Every oclif parse failure (a missing required flag included) is a usage error.
  const exit = e && typeof e === 'object' && 'parse' in e ? 2 : (e?.oclif?.exit ?? 1)
  const code = exit === 2 ? 'usage' : 'internal'
  // oclif appends its own help hint; the catch adds ours, naming the command.
  const message = stripAnsi(e?.message ?? String(err)).replace(/\n?See more help with --help\s*$/, '')
  return {body: {error: {code, message}}, exit}
}

export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001B\[[0-9;]*m/g, '')
}
