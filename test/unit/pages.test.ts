import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import test from 'ava'
import {escapeHtml, Pages, PAGES_DIR, renderTemplate, wantsJson} from '../../platform/edge/pages.js'

const pages = Pages.load()
const browser = {method: 'GET', headers: {accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'}}
const offline = {status: 503, title: 'Service offline', message: 'No Warpgate is connected for hello.', requestId: 'req_123'}

test('a browser gets an HTML page with status, title, message and request id', (t) => {
  const p = pages.error(browser, offline)
  t.is(p.status, 503)
  t.is(p.headers['content-type'], 'text/html; charset=utf-8')
  t.regex(p.body, /<h1>Service offline<\/h1>/)
  t.regex(p.body, /No Warpgate is connected for hello\./)
  t.regex(p.body, /req_123/)
  t.is(p.headers['mezu-request-id'], 'req_123')
  t.is(Number(p.headers['content-length']), Buffer.byteLength(p.body))
  t.false(p.body.includes('{{'), 'no placeholder left behind')
})

test('an API client (Accept: application/json) gets {error: {code, message}} only', (t) => {
  const p = pages.error({method: 'GET', headers: {accept: 'application/json'}}, {...offline, reasons: ['internal detail']})
  t.is(p.headers['content-type'], 'application/json; charset=utf-8')
  t.deepEqual(JSON.parse(p.body), {error: {code: 'service_unavailable', message: 'No Warpgate is connected for hello.'}})
})

test('anything but GET or HEAD gets JSON whatever it accepts', (t) => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const p = pages.error({method, headers: {accept: 'text/html'}}, {status: 502, title: 'Bad gateway', message: 'lost', requestId: 'r'})
    t.deepEqual(JSON.parse(p.body), {error: {code: 'bad_gateway', message: 'lost'}}, method)
  }
  t.false(wantsJson('GET', undefined))
  t.false(wantsJson('GET', '*/*'))
  t.false(wantsJson('HEAD', 'text/html, application/json'))
  t.true(wantsJson('GET', 'application/problem+json'))
})

test('each status maps to its JSON code, and an explicit code wins', (t) => {
  const code = (status: number, c?: string) => JSON.parse(pages.error({method: 'POST', headers: {}}, {status, title: 't', message: 'm', requestId: 'r', code: c}).body).error.code
  t.is(code(404), 'not_found')
  t.is(code(502), 'bad_gateway')
  t.is(code(504), 'gateway_timeout')
  t.is(code(403), 'forbidden')
  t.is(code(403, 'user-unauthorized'), 'user-unauthorized')
})

test('an injection attempt in the message, title, reasons and request id is escaped', (t) => {
  const evil = '<script>alert(1)</script><img src=x onerror="alert(2)">{{requestId}}{{{reasons}}}'
  const p = pages.error(browser, {status: 404, title: evil, message: evil, reasons: [evil, "it's & <b>"], requestId: '"><script>x</script>'})
  t.false(p.body.includes('<script>'), 'no script tag survives')
  t.false(p.body.includes('<img'), 'no element survives')
  t.false(/onerror="/.test(p.body))
  t.true(p.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  t.true(p.body.includes('{{requestId}}{{{reasons}}}'), 'a placeholder inside a value is not expanded')
  t.true(p.body.includes('<li>it&#39;s &amp; &lt;b&gt;</li>'))
  const json = pages.error({method: 'POST', headers: {}}, {status: 404, title: evil, message: evil, requestId: 'r'})
  t.is(JSON.parse(json.body).error.message, evil, 'JSON carries the text as data, encoded by JSON.stringify')
})

test('sends HSTS, nosniff, a CSP without script, no referrer and no-store', (t) => {
  for (const p of [pages.error(browser, offline), pages.error({method: 'POST', headers: {}}, offline)]) {
    t.regex(p.headers['strict-transport-security'], /^max-age=\d+/)
    t.is(p.headers['x-content-type-options'], 'nosniff')
    t.is(p.headers['referrer-policy'], 'no-referrer')
    t.is(p.headers['cache-control'], 'no-store')
    const csp = p.headers['content-security-policy']
    t.regex(csp, /default-src 'none'/)
    t.false(/script-src|unsafe-inline|unsafe-eval/.test(csp), 'no script is allowed, inline or not')
    t.regex(csp, /frame-ancestors 'none'/)
  }
})

test('the HTML CSP allows exactly the page\'s own style block by hash', (t) => {
  const p = pages.error(browser, offline)
  const style = /<style>([\s\S]*?)<\/style>/.exec(p.body)![1]
  const hash = createHash('sha256').update(style).digest('base64')
  t.true(p.headers['content-security-policy'].includes(`style-src 'sha256-${hash}'`))
})

test('refuses at load a template with a script or without a required placeholder, naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-pages-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  writeFileSync(join(dir, 'error.html'), '<p>{{status}} {{title}}</p>')
  writeFileSync(join(dir, 'login.html'), '')
  t.throws(() => Pages.load(dir), {message: new RegExp(`${join(dir, 'error.html')} lacks the \\{\\{message\\}\\} placeholder`)})
  writeFileSync(join(dir, 'error.html'), '{{status}}{{title}}{{message}}{{{reasons}}}{{requestId}}<script>x()</script>')
  t.throws(() => Pages.load(dir), {message: /holds a <script>/})
  t.throws(() => Pages.load(join(dir, 'missing')), {code: 'ENOENT'})
  t.truthy(PAGES_DIR)
})

test('escapeHtml and renderTemplate cover the five dangerous characters and backtick', (t) => {
  t.is(escapeHtml(`&<>"'\``), '&amp;&lt;&gt;&quot;&#39;&#96;')
  t.is(renderTemplate('{{a}}|{{{b}}}|{{missing}}', {a: '<'}, {b: '<i>ok</i>'}), '&lt;|<i>ok</i>|')
})
