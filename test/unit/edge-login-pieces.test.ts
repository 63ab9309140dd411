import test from 'ava'
import {CsrfTokens} from '../../platform/edge/login/csrf.js'

test('a CSRF token verifies only with the cookie it was minted for', (t) => {
  const csrf = new CsrfTokens()
  const cookie = csrf.newCookieValue()
  const token = csrf.tokenFor(cookie)
  t.true(csrf.verify(cookie, token))
  t.false(csrf.verify(csrf.newCookieValue(), token))
  t.false(csrf.verify(undefined, token))
  t.false(csrf.verify(cookie, undefined))
  t.false(csrf.verify(cookie, token.slice(0, -1)))
  t.false(new CsrfTokens().verify(cookie, token), 'another edge secret does not accept it')
})

test('a login-form token is no sign-out token for the same cookie value, nor the reverse', (t) => {
  const csrf = new CsrfTokens()
  const value = csrf.newCookieValue()
  t.true(csrf.verify(value, csrf.tokenFor(value, 'logout'), 'logout'))
  t.false(csrf.verify(value, csrf.tokenFor(value), 'logout'))
  t.false(csrf.verify(value, csrf.tokenFor(value, 'logout')))
})

