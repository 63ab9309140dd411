import {MezuError} from './errors.js'

/** Roles as the CLI offers them (the API checks them again). */
export const ROLES = ['owner', 'admin', 'member'] as const
export type RoleName = (typeof ROLES)[number]

export function checkChoice<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(choices as readonly string[]).includes(value)) throw new MezuError('usage', `--${flag} must be one of ${choices.join(', ')}, got "${value}"`)
  return value as T
}
