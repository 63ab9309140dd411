import {randomBytes} from 'node:crypto'

/**
 * Secret formats. Each carries a recognisable prefix so secret scanners can find leaked ones,
 * and the random part is base64url so it survives copy and paste, URLs and shell quoting.
 */
export const TOKEN_PREFIX = {
  /** A user's session token (CLI or API). */
  session: 'mezu_sess_',
  /** A service account's API key. */
  apiKey: 'mezu_sa_',
  /** A one-time user invitation code. */
  invite: 'mezu_inv_',
  /** A one-time Warpgate registration token. */
  warpgate: 'mezu_wg_',
  /** The secret a CLI polls with during a web login (`mezu login --web`); single use. */
  device: 'mezu_dev_',
  /** A one-time edge join token (`mezu edges create`); see edge-join.ts for the CA pin it carries. */
  edgeJoin: 'mezu_edge_',
} as const

export type TokenKind = keyof typeof TOKEN_PREFIX

/** The number of random bytes behind every secret token (256 bits). */
export const TOKEN_RANDOM_BYTES = 32

export function newToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(TOKEN_RANDOM_BYTES).toString('base64url')
}

export function tokenKind(token: string): TokenKind | undefined {
  for (const [kind, prefix] of Object.entries(TOKEN_PREFIX)) {
    if (token.startsWith(prefix)) return kind as TokenKind
  }
  return undefined
}
