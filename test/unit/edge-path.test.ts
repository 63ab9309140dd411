import test from 'ava'
import {normalisePath, pathUnder} from '../../platform/edge/path.js'

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
