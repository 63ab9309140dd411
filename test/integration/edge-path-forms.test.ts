import {connect, type IncomingHttpHeaders} from 'node:http2'
import test from 'ava'
import {HEADER_EDGE_ERROR} from '../../src/protocol/headers.js'
import {fileScope, rawRequest, startIdentityEdge, type IdentityEdge} from '../helpers/identity-edge.js'

// One platform for the file: every test only reads through it. On app.<domain>, /public is open
// and everything else needs a sign-in; the forms below would let an origin serve /secret-N. On
// site.<domain> it is the other way round: / is open and /secret needs a sign-in.
let e: IdentityEdge
let app: string
let site: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t)
  app = `app.${e.domain}`
  await e.addRoute(app, '/', null)
  const open = await e.addPolicy('open', {public: true})
  await e.addRoute(app, '/public', open.id)
  site = `site.${e.domain}`
  await e.addRoute(site, '/', open.id)
  await e.addRoute(site, '/secret', null)
})

const raw = (target: string, host = app) => [`GET ${target} HTTP/1.1`, `Host: ${host}:${e.port}`, 'Accept: text/html', 'Connection: close'].join('\r\n') + '\r\n\r\n'

/** One HTTP/2 request to the edge, the platform CA pinned. */
function h2(host: string, path: string): Promise<{status: number; headers: IncomingHttpHeaders; text: string}> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${e.port}`, {ca: e.caPem, servername: host})
    session.on('error', reject)
    const req = session.request({':path': path, ':authority': `${host}:${e.port}`, accept: 'text/html'})
    let headers: IncomingHttpHeaders = {}
    const chunks: Buffer[] = []
    req.on('response', (h) => (headers = h))
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      session.close()
      resolve({status: Number(headers[':status']), headers, text: Buffer.concat(chunks).toString('utf8')})
    })
    req.on('error', reject)
    req.end()
  })
}

// [what an origin does with it, the form]; "N" becomes a marker so each request is told apart at the origin.
const FORMS: Array<[string, string]> = [
  ['Tomcat/Jetty drop ";…" and climb', '/public/..;/secret-N'],
  ['Tomcat/Jetty drop ";jsessionid=…" and climb', '/public/..;jsessionid=x/secret-N'],
  ['Tomcat/Jetty read ".;" as "."', '/public/.;/../secret-N'],
  ['an encoded dot segment with a parameter', '/public/%2e%2e;/secret-N'],
  ['an encoded ";" after ".."', '/public/..%3b/secret-N'],
  ['double-decoding reads %252e%252e as ".."', '/public/%252e%252e/secret-N'],
  ['double-decoding, mixed case', '/public/.%252E/secret-N'],
  ['double-decoding reads %252f as "/"', '/public/..%252fsecret-N'],
  ['double-decoding reads %255c as "\\"', '/public/..%255csecret-N'],
  ['triple-decoding', '/public/%25252e%25252e/secret-N'],
  ['overlong UTF-8 "."', '/public/%c0%ae%c0%ae/secret-N'],
  ['overlong UTF-8 "/"', '/public/..%c0%afsecret-N'],
  ['three-byte overlong "."', '/public/%e0%80%ae%e0%80%ae/secret-N'],
  ['NFKC reads fullwidth "．．" as ".."', '/public/%ef%bc%8e%ef%bc%8e/secret-N'],
  ['NFKC reads the two-dot leader "‥" as ".."', '/public/%e2%80%a5/secret-N'],
  ['NFKC reads fullwidth "／" as "/"', '/public/..%ef%bc%8fsecret-N'],
  ['NFKC reads fullwidth "＼" as "\\"', '/public/..%ef%bc%bcsecret-N'],
]

const reachedOrigin = (marker: string) => e.originSeen.some((s) => s.url.includes(marker))

// Each form is answered 400 with the edge's own page, and the origin never sees it.
const refused = {status: 400, edgeError: 'bad_request', page: true, reachedOrigin: false}

test('over HTTP/1.1 refuses every form an origin could read as a path outside /public with 400 and the edge\'s page', async (t) => {
  const seen = []
  for (const [i, [why, form]] of FORMS.entries()) {
    const marker = `secret-h1-${i}`
    const r = await rawRequest(e, app, raw(form.replace('secret-N', marker)))
    const edgeError = new RegExp(`^${HEADER_EDGE_ERROR}: (\\S+)`, 'im').exec(r.text)?.[1]
    seen.push({why, form, status: r.status, edgeError, page: /<html/i.test(r.text), reachedOrigin: reachedOrigin(marker)})
  }
  t.deepEqual(seen, FORMS.map(([why, form]) => ({why, form, ...refused})))
})

test('refuses raw UTF-8 fullwidth dots with 400 over HTTP/1.1 and HTTP/2', async (t) => {
  const h1 = await rawRequest(e, app, raw('/public/\uff0e\uff0e/secret-raw1'))
  t.is(h1.status, 400)
  // Node's http2 client sends header strings as Latin-1: spell the UTF-8 bytes that way.
  const h2r = await h2(app, Buffer.from('/public/\uff0e\uff0e/secret-raw2').toString('latin1'))
  t.is(h2r.status, 400)
  t.is(h2r.headers[HEADER_EDGE_ERROR.toLowerCase()], 'bad_request')
  t.false(reachedOrigin('secret-raw'))
})

test('over HTTP/2 refuses the same forms with 400 and the edge\'s page', async (t) => {
  const seen = []
  for (const [i, [why, form]] of FORMS.entries()) {
    const marker = `secret-h2-${i}`
    const r = await h2(app, form.replace('secret-N', marker))
    seen.push({why, form, status: r.status, edgeError: r.headers[HEADER_EDGE_ERROR.toLowerCase()], page: /<html/i.test(r.text), reachedOrigin: reachedOrigin(marker)})
  }
  t.deepEqual(seen, FORMS.map(([why, form]) => ({why, form, ...refused})))
})

test('matrix parameters, UTF-8 names and literal "%" still reach the origin as sent', async (t) => {
  for (const path of ['/public/a;v=1/b', '/public/caf%C3%A9', '/public/%E6%97%A5%E6%9C%AC;lang=ja', '/public/100%25', '/public/.../x', '/public/a.;b']) {
    const r = await rawRequest(e, app, raw(path))
    t.is(r.status, 200, path)
    t.true(e.originSeen.some((s) => s.url === path), `${path} reaches the origin unchanged`)
  }
})

// [what an origin does with it, the form]: each reads as a path under /secret to some origin,
// while the edge would route it to the open "/" route.
const OTHER_ROUTE: Array<[string, string]> = [
  ['Tomcat/Jetty drop ";x"', '/secret;x/N'],
  ['Tomcat/Jetty drop ";jsessionid=…" on the last segment', '/secret;jsessionid=N'],
  ['Tomcat/Jetty drop ";x" and the empty segment', '/;x/secret/N'],
  ['double-decoding reads %2573 as "s"', '/%2573ecret/N'],
  ['NFKC reads fullwidth "ｓ" as "s"', '/%EF%BD%93ecret/N'],
]

test('refuses a path that an origin would read as under another route, over HTTP/1.1 and HTTP/2', async (t) => {
  const seen = []
  for (const [i, [why, form]] of OTHER_ROUTE.entries()) {
    const h1 = await rawRequest(e, site, raw(form.replace('N', `route-h1-${i}`), site))
    const h2r = await h2(site, form.replace('N', `route-h2-${i}`))
    seen.push({why, h1: h1.status, h2: h2r.status, edgeError: h2r.headers[HEADER_EDGE_ERROR.toLowerCase()], reachedOrigin: reachedOrigin(`route-h1-${i}`) || reachedOrigin(`route-h2-${i}`)})
  }
  t.deepEqual(seen, OTHER_ROUTE.map(([why]) => ({why, h1: 400, h2: 400, edgeError: 'bad_request', reachedOrigin: false})))
})

test('";" parameters that every reading routes alike still pass', async (t) => {
  const open = await rawRequest(e, site, raw('/a;v=1/b', site))
  t.is(open.status, 200)
  t.true(e.originSeen.some((s) => s.url === '/a;v=1/b'))
  const guarded = await rawRequest(e, site, raw('/secret/x;v=1', site))
  t.is(guarded.status, 302, 'under /secret on every reading: the sign-in it needs, not a refusal')
})
