import test from 'ava'
import {CallbackCodes} from '../../platform/edge/login/callback-codes.js'
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

test('a callback code works once, on its host, before it expires', (t) => {
  let now = 0
  const codes = new CallbackCodes(60_000, () => now)
  const a = codes.issue('tok', 'hello.test', 'https://hello.test/')
  t.is(codes.consume(a, 'hello.test')?.token, 'tok')
  t.is(codes.consume(a, 'hello.test'), undefined, 'second use')
  const b = codes.issue('tok', 'hello.test', 'https://hello.test/')
  t.is(codes.consume(b, 'evil.test'), undefined, 'other host')
  t.is(codes.consume(b, 'hello.test'), undefined, 'a code tried on the wrong host is burnt')
  const c = codes.issue('tok', 'hello.test', 'https://hello.test/')
  now += 60_001
  t.is(codes.consume(c, 'hello.test'), undefined, 'expired')
})
