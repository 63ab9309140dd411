// The hello service: greets whoever the Mezusphere edge says is calling.
// Node.js built-ins only. Listens on 127.0.0.1:$PORT (mezu tunnel sets PORT from mezu.json).
import http from 'node:http'

const port = Number(process.env.PORT || 3000)

// Behind the edge, Mezu-User-Email names the signed-in caller; the edge strips any copy a
// client sends. Next step: verify the signed Mezu-Jwt-Assertion header instead of trusting this.
const USER_EMAIL = 'mezu-user-email'

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c])

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, {'content-type': 'text/plain'}).end('ok\n')
    return
  }
  const email = req.headers[USER_EMAIL]
  const who = typeof email === 'string' && email ? email : 'stranger'
  if ((req.headers.accept || '').includes('application/json')) {
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({hello: who, path: req.url}) + '\n')
    return
  }
  res.writeHead(200, {'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'"})
  res.end(`<!doctype html><meta charset="utf-8"><title>Hello</title><h1>Hello, ${escapeHtml(who)}!</h1><p>This page came through a Mezusphere tunnel.</p>\n`)
})

server.listen(port, '127.0.0.1', () => console.log(`hello: listening on http://127.0.0.1:${port}`))

// Finish in-flight requests on SIGTERM (mezu tunnel sends it when it stops).
process.on('SIGTERM', () => {
  console.log('hello: stopping')
  server.close(() => process.exit(0))
  server.closeIdleConnections()
})
