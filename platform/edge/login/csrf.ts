import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'

/**
 * What a token is for: `form` tokens are bound to the pre-session CSRF cookie (login, invitation,
 * device approval); `logout` tokens to the session cookie they end, so routes need no CSRF cookie.
 */
export type CsrfPurpose = 'form' | 'logout'

/**
 * CSRF tokens bound to a cookie: the form carries HMAC(secret, purpose, cookie), so a page on
 * another site can neither read the cookie nor mint a token that matches it.
 */
export class CsrfTokens {
  constructor(private readonly secret: Buffer = randomBytes(32)) {}

  /** A fresh pre-session cookie value. */
  newCookieValue(): string {
    return randomBytes(24).toString('base64url')
  }

  tokenFor(cookieValue: string, purpose: CsrfPurpose = 'form'): string {
    return createHmac('sha256', this.secret).update(`mezu-csrf\0${purpose}\0${cookieValue}`).digest('base64url')
  }

  verify(cookieValue: string | undefined, token: string | undefined, purpose: CsrfPurpose = 'form'): boolean {
    if (!cookieValue || !token) return false
    const want = Buffer.from(this.tokenFor(cookieValue, purpose))
    const got = Buffer.from(token)
    return want.length === got.length && timingSafeEqual(want, got)
  }
}
