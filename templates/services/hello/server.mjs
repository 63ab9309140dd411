// The hello service: greets whoever the Mezusphere edge vouches for, after checking its signature.
// Listens on 127.0.0.1:$PORT (mezu tunnel sets PORT from mezu.json). Needs `npm install` (jose).
import dns from 'node:dns'
import http from 'node:http'
import {createRemoteJWKSet, jwtVerify} from 'jose'

const port = Number(process.env.PORT || 3000)

// mezu tunnel tells its service where the platform's signing keys are, and trusts the platform
// CA for fetching them (NODE_EXTRA_CA_CERTS). Run alone, the service knows no keys: it greets
// everybody as a stranger.
const {MEZU_JWKS_URL, MEZU_ISSUER} = process.env
if (MEZU_JWKS_URL && !MEZU_ISSUER) throw new Error('MEZU_ISSUER must be set with MEZU_JWKS_URL (https://auth.<domain>)')
const jwks = MEZU_JWKS_URL ? createRemoteJWKSet(new URL(MEZU_JWKS_URL)) : undefined

// On a local platform the keys are at auth.mezu.localhost. Every *.localhost name is the loopback
// address (RFC 6761), but Node only asks /etc/hosts and DNS, which do not know that.
if (MEZU_JWKS_URL && new URL(MEZU_JWKS_URL).hostname.endsWith('.localhost')) {
  const lookup = dns.lookup
  dns.lookup = (host, ...rest) => lookup(host.endsWith('.localhost') ? '127.0.0.1' : host, ...rest)
}

/**
 * The caller the edge signed for, or null when the request carries no assertion. The assertion
 * must be signed by a platform key, issued by the platform, meant for this host and not expired;
 * anything else throws. The Mezu-User-Email header alone proves nothing.
 */
async function verifiedCaller(req) {
  const token = req.headers['mezu-jwt-assertion']
  if (!token || !jwks) return null
  const audience = String(req.headers.host).replace(/:\d+$/, '').toLowerCase()
  const {payload} = await jwtVerify(token, jwks, {issuer: MEZU_ISSUER, audience, algorithms: ['EdDSA']})
  return payload
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c])

const server = http.createServer(async (req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, {'content-type': 'text/plain'}).end('ok\n')
    return
  }
  let caller
  try {
    caller = await verifiedCaller(req)
  } catch (error) {
    // jose's own errors (ERR_JWT_*, ERR_JWS_*) mean a bad assertion; anything else (the key fetch
    // failed or timed out) is ours, not the caller's fault.
    const keysUnavailable = error.code === 'ERR_JWKS_TIMEOUT' || !String(error.code ?? '').startsWith('ERR_J')
    const [status, code] = keysUnavailable ? [503, 'assertion_keys_unavailable'] : [401, 'assertion_invalid']
    res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify({error: {code, message: `Mezu-Jwt-Assertion could not be checked: ${error.code ?? error.message}`}}) + '\n')
    return
  }
  // A public route's assertion names nobody (kind "anonymous", no email).
  const who = caller?.email ?? 'stranger'
  if ((req.headers.accept || '').includes('application/json')) {
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({hello: who, path: req.url, verified: Boolean(caller?.email)}) + '\n')
    return
  }
  res.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'"})
  res.end(`<!doctype html><meta charset="utf-8"><title>Hello</title><h1 id="hello">Hello, ${escapeHtml(String(who))}!</h1><p>This page came through a Mezusphere tunnel.</p>\n`)
})

server.listen(port, '127.0.0.1', () => console.log(`hello: listening on http://127.0.0.1:${port}${jwks ? ` (verifying assertions against ${MEZU_JWKS_URL})` : ' (no MEZU_JWKS_URL: nobody can be verified)'}`))

// Finish in-flight requests on SIGTERM (mezu tunnel sends it when it stops).
process.on('SIGTERM', () => {
  console.log('hello: stopping')
  server.close(() => process.exit(0))
  server.closeIdleConnections()
})
