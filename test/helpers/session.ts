import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ExecutionContext} from 'ava'
import {type CliResult, mezu} from './cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, type TestPlatform} from './platform.js'

/** A CLI "user": its own config dir, pointed at the platform with the CA file pinned. */
export interface CliUser {
  env: NodeJS.ProcessEnv
  run(args: string[], opts?: {stdin?: string; env?: NodeJS.ProcessEnv}): Promise<CliResult>
  /** runs with --json, asserts exit 0, returns parsed stdout */
  json<T = any>(args: string[], opts?: {stdin?: string; env?: NodeJS.ProcessEnv}): Promise<T>
}

export function cliUser(t: ExecutionContext, platform: TestPlatform, extraEnv: NodeJS.ProcessEnv = {}): CliUser {
  const configDir = mkdtempSync(join(tmpdir(), 'mezu-cli-'))
  const env = {MEZU_CONFIG_DIR: configDir, MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath, ...extraEnv}
  const user: CliUser = {
    env,
    run: (args, opts = {}) => mezu(args, {env: {...env, ...opts.env}, stdin: opts.stdin}),
    async json(args, opts = {}) {
      const r = await user.run([...args, '--json'], opts)
      if (r.code !== 0) t.fail(`mezu ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
      return r.json()
    },
  }
  return user
}

/** A CLI user logged in as the platform's owner. */
export async function ownerCli(t: ExecutionContext, platform: TestPlatform): Promise<CliUser> {
  const u = cliUser(t, platform)
  await u.json(['login', '--email', ADMIN_EMAIL, '--password-stdin'], {stdin: ADMIN_PASSWORD})
  return u
}
