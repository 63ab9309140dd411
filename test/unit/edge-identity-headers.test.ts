import test from 'ava'
import {applyRewrite, isIdentityHeader, rewriteIdentityHeaders, stripSessionCookie} from '../../platform/edge/identity-headers.js'

test('strips every inbound Mezu-* header in any letter case, Mezu_* and the service token', (t) => {
  const raw = ['Host', 'a', 'mezu-user-email', 'evil@x', 'MEZU-USER-ID', 'usr_evil', 'Mezu-Jwt-Assertion', 'forged', 'Mezu_User_Email', 'evil2', 'Mezu-Service-Token', 'mezu_sa_x', 'X-Other', 'keep']
  const rw = rewriteIdentityHeaders(raw, null)
  t.deepEqual(rw.remove.sort(), ['mezu-jwt-assertion', 'mezu-service-token', 'mezu-user-email', 'mezu-user-id', 'mezu_user_email'])
  t.deepEqual(rw.set, {})
})

test('adds the caller identity headers, overriding spoofed ones', (t) => {
  const rw = rewriteIdentityHeaders(['mezu-user-email', 'evil@x'], {id: 'usr_1', email: 'alice@example.test', assertion: 'jwt'})
  const out = applyRewrite({'mezu-user-email': 'evil@x', accept: '*/*'}, rw)
  t.deepEqual(out, {accept: '*/*', 'Mezu-User-Id': 'usr_1', 'Mezu-User-Email': 'alice@example.test', 'Mezu-Jwt-Assertion': 'jwt'})
})

test('removes the edge session cookie and keeps the origin\'s own cookies', (t) => {
  t.is(stripSessionCookie('a=1; __Host-mezu_session=secret; b=2'), 'a=1; b=2')
  t.is(stripSessionCookie('__Host-mezu_session=secret'), null)
  const rw = rewriteIdentityHeaders(['Cookie', '__Host-mezu_session=secret'], null)
  t.deepEqual(rw.remove, ['cookie'])
  const rw2 = rewriteIdentityHeaders(['Cookie', 'theme=dark; __Host-mezu_session=s'], null)
  t.is(rw2.set.cookie, 'theme=dark')
})

test('isIdentityHeader recognises only the mezu prefixes', (t) => {
  t.true(isIdentityHeader('MeZu-Anything'))
  t.true(isIdentityHeader('mezu_x'))
  t.false(isIdentityHeader('x-mezu-user'))
})
