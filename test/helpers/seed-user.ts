import type {Role} from '../../src/lib/api-types/index.js'
import {createUser, type UserRecord} from '../../platform/store/identity/users.js'
import type {TestPlatform} from './platform.js'

/**
 * Puts an active user with a password straight into the identity store: the tests of
 * directories and sessions need people, not the invitation flow (tested on its own).
 */
export async function seedUser(platform: TestPlatform, email: string, opts: {role?: Role; password?: string} = {}): Promise<UserRecord> {
  const passwordHash = opts.password ? await platform.ctx.stores.passwords.hash(opts.password) : null
  return createUser(platform.ctx.idb, {email, name: email.split('@')[0], role: opts.role ?? 'member', status: 'active', passwordHash})
}

/** The JSON error object a failed `mezu … --json` wrote on stderr. */
export function errorOf(stderr: string): {code: string; message: string} {
  try {
    return JSON.parse(stderr.trim().split('\n').at(-1) ?? '').error
  } catch {
    throw new Error(`stderr is not a JSON error: ${stderr}`)
  }
}
