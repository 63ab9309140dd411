import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'

/**
 * CSRF tokens bound to a pre-session cookie: the form carries HMAC(secret, cookie), so a page on
 * another site can neither read the cookie nor mint a token that matches it.
 */
export class CsrfTokens {
  constructor(private readonly secret: Buffer = randomBytes(32)) {}

  /** A fresh pre-session cookie value. */
  newCookieValue(): string {
    return randomBytes(24).toString('base64url')
  }

  tokenFor(cookieValue: string): string {
    return createHmac('sha256', this.secret).update('mezu-csrf\0' + cookieValue).digest('base64url')
  }

  verify(cookieValue: string | undefined, token: string | undefined): boolean {
    if (!cookieValue || !token) return false
    const want = Buffer.from(this.tokenFor(cookieValue))
    const got = Buffer.from(token)
    return want.length === got.length && timingSafeEqual(want, got)
  }
}
