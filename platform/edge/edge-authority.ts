import type {EdgeSession, EdgeUser} from './identity-snapshot.js'

/**
 * What the edge asks of the control plane, and only at login, logout and invitation time: never
 * per request. The control plane implements it (platform/control/edge-identity.ts); a remote
 * edge would carry the same calls over its control connection.
 */
export interface EdgeAuthority {
  /** The keyed hash (hex) of a session token or API key, as the snapshot indexes them. */
  hashToken(token: string): string
  /** Password login for a browser: a new session every time (no fixation). */
  login(input: {email: string; password: string; ip: string; userAgent: string | null}): Promise<LoginOutcome>
  /** Records when sessions were last used at the edge (batched, about once a minute), so the idle timeout survives restarts. */
  touchSessions(entries: ReadonlyArray<{id: string; at: number}>): Promise<void>
  /** Revokes the session behind this token (a no-op for unknown tokens). */
  logout(token: string): Promise<void>
  /** Who an invitation code is for, when it is still usable. */
  invitation(code: string): Promise<{ok: true; email: string} | {ok: false}>
  /** Sets the password of an invited user and marks the invitation used. */
  acceptInvitation(input: {code: string; password: string; ip: string; userAgent: string | null}): Promise<{ok: true; email: string} | {ok: false; reason: 'invalid' | 'weak-password'; message: string}>
  /** The pending web login (`mezu login --web`) behind a user code, for the approval page. */
  deviceLogin(input: {userCode: string; userId: string; ip: string}): Promise<DeviceLoginLookup>
  /** Approves or denies a pending web login for this signed-in user. */
  decideDeviceLogin(input: {userCode: string; userId: string; approve: boolean; ip: string; userAgent: string | null}): Promise<DeviceLoginLookup>
  /**
   * A one-time, short-lived code that carries a fresh login from auth.<domain> to a route host's
   * callback, so the session token never appears in a URL. Kept by the control plane, so a login
   * started at one edge finishes at another.
   */
  issueCallbackCode(input: {token: string; host: string; returnUrl: string}): Promise<string>
  /** Redeems a code once for this host, with the session behind it (which another edge may have created a moment ago). */
  consumeCallbackCode(input: {code: string; host: string}): Promise<RedeemedCallback | undefined>
}

export interface RedeemedCallback {
  token: string
  returnUrl: string
  tokenHash: string
  session: EdgeSession
  user: EdgeUser
}

/**
 * The authority cannot be asked right now (an edge node whose control plane is away): nothing was
 * changed, and the person should try again shortly. Pages answer 503 for it, not 500.
 */
export class AuthorityUnavailable extends Error {
  override name = 'AuthorityUnavailable'
}

/** A user code looked up (and counted, when wrong, against the person's and address's limits). */
export type DeviceLoginLookup =
  | {ok: true; userCode: string; client: string; ip: string; expiresAtMs: number}
  | {ok: false; reason: 'invalid'}
  | {ok: false; reason: 'limited'; retryAfterSeconds: number}

export type LoginOutcome =
  | {ok: true; token: string; tokenHash: string; session: EdgeSession; user: EdgeUser}
  | {ok: false; reason: 'invalid'; message: string}
  | {ok: false; reason: 'limited'; message: string; retryAfterSeconds: number}
