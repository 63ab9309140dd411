import test from 'ava'
import {normalisePath, originReadings, pathUnder} from '../../platform/edge/path.js'

const norm = (t: string) => {
  const r = normalisePath(t)
  return r.ok ? r.path : `REFUSED: ${r.reason}`
}

test('every spelling of /admin normalises to a path under /admin', (t) => {
  for (const spelling of ['/%61dmin', '//admin', '/x/../admin', '/admin/.', '/./admin', '/admin//', '///admin', '/%2e/admin', '/x/%2E%2E/admin', '/a/b/../../admin']) {
    const p = norm(spelling)
    t.true(pathUnder(p, '/admin'), `${spelling} → ${p}`)
  }
})

test('paths stay case-sensitive: /ADMIN is not under /admin', (t) => {
  t.is(norm('/ADMIN'), '/ADMIN')
  t.false(pathUnder(norm('/ADMIN'), '/admin'))
  t.false(pathUnder(norm('/%41DMIN'), '/admin'))
})

test('refuses encoded slash, encoded backslash and encoded NUL', (t) => {
  for (const p of ['/admin%2fx', '/x%2Fadmin', '/a%5cb', '/a%5Cb', '/a%00b']) t.regex(norm(p), /^REFUSED/, p)
})

test('refuses invalid percent-encoding in the path and the query', (t) => {
  for (const p of ['/a%', '/a%4', '/a%zz', '/a?x=%g1', '/%%32%65']) t.regex(norm(p), /^REFUSED/, p)
})

test('refuses a raw backslash, a raw "#" and control characters', (t) => {
  for (const p of ['/a\\b', '/admin#x', '/a?b#c', '/a\u0000b', '/a\tb', '/a b']) t.regex(norm(p), /^REFUSED/, JSON.stringify(p))
})

test('refuses targets that are not a path (absolute form, asterisk, empty)', (t) => {
  for (const p of ['http://other/admin', '*', '', 'admin']) t.regex(norm(p), /^REFUSED/, p)
})

test('keeps reserved percent-escapes encoded, upper-cased, and leaves the query untouched', (t) => {
  const r = normalisePath('/a%3fb/%7e?q=%2F&x=1')
  t.true(r.ok)
  if (!r.ok) return
  t.is(r.path, '/a%3Fb/~')
  t.is(r.query, 'q=%2F&x=1')
  t.is(r.target, '/a%3Fb/~?q=%2F&x=1')
})

test('dot segments never climb above the root', (t) => {
  t.is(norm('/../../etc/passwd'), '/etc/passwd')
  t.is(norm('/..'), '/')
})

test('pathUnder matches on segment boundaries only', (t) => {
  t.true(pathUnder('/admin', '/admin'))
  t.true(pathUnder('/admin/users', '/admin'))
  t.true(pathUnder('/admin/', '/admin/'))
  t.false(pathUnder('/administer', '/admin'))
  t.true(pathUnder('/anything', '/'))
})

test('refuses a dot segment with ";" parameters, which Tomcat and Jetty read as "." or ".."', (t) => {
  for (const p of ['/public/..;/secret', '/public/..;jsessionid=x/secret', '/public/.;/../secret', '/a/%2e%2e;/b', '/a/..%3b/b', '/a/..%3Bx=1/b', '/a/..;']) t.regex(norm(p), /^REFUSED/, p)
})

test('refuses segments that read as "." or "..", or hold "/" or "\\", once decoded again', (t) => {
  for (const p of ['/public/%252e%252e/secret', '/public/.%252E/secret', '/a/%252e/b', '/a/..%252fb', '/a/..%252Fb', '/a/x%255cb', '/a/%25252e%25252e/b', '/a/%25%32%65%25%32%65/b', '/a/x%2500']) t.regex(norm(p), /^REFUSED/, p)
})

test('refuses a path that is not UTF-8 once decoded: overlong forms, stray bytes, surrogates', (t) => {
  for (const p of ['/public/%c0%ae%c0%ae/secret', '/a/..%c0%afb', '/a/%e0%80%ae/b', '/a/%f0%80%80%ae/b', '/a/%ff', '/a/%C3', '/a/%ed%a0%80', '/a/%25c0%25ae/b']) t.regex(norm(p), /^REFUSED/, p)
})

test('refuses segments that NFKC turns into "." or "..", or into "/" or "\\"', (t) => {
  // fullwidth full stop, two-dot leader, small full stop, fullwidth solidus and reverse solidus
  for (const p of ['/public/%ef%bc%8e%ef%bc%8e/secret', '/a/%EF%BC%8E/b', '/a/%e2%80%a5/b', '/a/%ef%b9%92/b', '/a/..%ef%bc%8fb', '/a/..%ef%bc%bcb', '/a/%ef%bc%8e%ef%bc%8e%ef%bc%9bx/b', '/a/%25ef%25bc%258e%25ef%25bc%258e/b']) t.regex(norm(p), /^REFUSED/, p)
})

test('keeps matrix parameters, UTF-8 names and a literal "%" that are read the same everywhere', (t) => {
  t.is(norm('/a;v=1/b'), '/a;v=1/b')
  t.is(norm('/a/x;jsessionid=1'), '/a/x;jsessionid=1')
  t.is(norm('/caf%c3%a9/%E6%97%A5;lang=ja'), '/caf%C3%A9/%E6%97%A5;lang=ja')
  t.is(norm('/100%25'), '/100%25')
  t.is(norm('/a/.../b'), '/a/.../b')
  t.is(norm('/a/..a;x/b'), '/a/..a;x/b')
  t.is(norm('/a/%2541'), '/a/%2541', 'decoding twice gives "A": a name, not a dot or a slash')
})

test('originReadings: what Tomcat, a double-decoding and an NFKC origin read instead', (t) => {
  t.deepEqual(originReadings('/secret;x/page'), ['/secret/page'])
  t.deepEqual(originReadings('/;x/secret'), ['/secret'], 'the emptied segment collapses')
  t.deepEqual(originReadings('/a/secret%3Bx'), ['/a/secret'])
  t.deepEqual(originReadings('/%2573ecret/x'), ['/secret/x'])
  t.deepEqual(originReadings('/%EF%BD%93ecret'), ['/secret'])
  t.deepEqual(originReadings('/%25EF%25BD%2593ecret;v=1'), ['/%25EF%25BD%2593ecret', '/%EF%BD%93ecret;v=1', '/secret'])
})

test('originReadings is empty when every origin reads the path as the edge does', (t) => {
  for (const p of ['/a/b', '/caf%C3%A9', '/a%20b/%3F', '/100%25', '/%E6%97%A5']) t.deepEqual(originReadings(p), [], p)
})
