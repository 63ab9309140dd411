import {randomBytes} from 'node:crypto'

/** Prefixes of resource ids, so an id says what it names (`prj_…`) and never leaks a count. */
export const ID_PREFIX = {
  project: 'prj',
  environment: 'env',
  route: 'rte',
  policy: 'pol',
  user: 'usr',
  directory: 'dir',
  serviceAccount: 'sa',
  apiKey: 'key',
  session: 'ses',
  invite: 'inv',
  warpgate: 'wg',
  audit: 'aud',
  login: 'lgn',
  deviceLogin: 'dvl',
  edge: 'edg',
  callbackCode: 'cbc',
} as const

export type IdKind = keyof typeof ID_PREFIX

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford base32, lower case

/** A random id: prefix, underscore, 20 base32 characters (100 bits). */
export function newId(kind: IdKind): string {
  const bytes = randomBytes(20)
  let out = ''
  for (const b of bytes) out += ALPHABET[b & 31]
  return `${ID_PREFIX[kind]}_${out}`
}

const ID_PATTERN = /^[a-z]{2,3}_[0-9a-z]{20}$/

export function looksLikeId(value: string, kind?: IdKind): boolean {
  if (!ID_PATTERN.test(value)) return false
  return kind === undefined || value.startsWith(`${ID_PREFIX[kind]}_`)
}
