import type {IdentityEdgeState} from '../identity-edge.js'

/*
 * Signing out is the POST of a form, never a GET: a link or an image on another site (a sibling
 * route host included, which SameSite=Lax does not stop) must not end anyone's session. The
 * form's token is an HMAC of the session cookie it ends, so route hosts need no CSRF cookie of
 * their own (one the origin would see) and a token is worthless without that cookie.
 */

/** The sign-out page: who is signed in, and the form that POSTs to `action` with the token. */
export function logoutPage(state: IdentityEdgeState, v: {sessionToken: string; email: string; action: string; error?: string}): string {
  return state.templates.render('logout', {
    domain: state.source.get().domain, email: v.email, action: v.action, error: v.error, csrf: state.csrf.tokenFor(v.sessionToken, 'logout'),
  })
}

/** True when a posted sign-out form carries the token made for this session cookie. */
export function isLogoutConfirmed(state: IdentityEdgeState, sessionToken: string | undefined, formToken: string | null): boolean {
  return state.csrf.verify(sessionToken, formToken ?? undefined, 'logout')
}

/** Ends a session: at this edge at once, then on the platform (which tells the other edges). */
export async function endSession(state: IdentityEdgeState, sessionToken: string): Promise<void> {
  state.identity.forget(sessionToken)
  await state.authority.logout(sessionToken)
}

/** Shown when a sign-out form does not fit the session: nothing was ended. */
export const LOGOUT_REFUSED = 'This sign-out form was not made for your current session, so nothing changed. Use this one to sign out.'
