// The static service: serves the files under ./public (or $ROOT). Node.js built-ins only.
// Listens on 127.0.0.1:$PORT (mezu tunnel sets PORT from mezu.json).
import {createReadStream} from 'node:fs'
import {realpath, stat} from 'node:fs/promises'
import http from 'node:http'
import {extname, join, resolve, sep} from 'node:path'

const port = Number(process.env.PORT || 3001)
const root = resolve(process.env.ROOT || 'public')

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.pdf': 'application/pdf', '.wasm': 'application/wasm',
}

function notFound(res) {
  res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('not found\n')
}

/** The file a URL path names inside root, or null: no "..", no symlink out of root, no dot files. */
async function resolveFile(urlPath) {
  let path
  try {
    path = decodeURIComponent(urlPath.split('?')[0])
  } catch {
    return null
  }
  if (path.includes('\0') || path.split('/').some((seg) => seg === '..' || (seg.startsWith('.') && seg !== ''))) return null
  let file = join(root, path)
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html')
    const real = await realpath(file)
    const realRoot = await realpath(root)
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return null
    const s = await stat(real)
    return s.isFile() ? {file: real, size: s.size} : null
  } catch {
    return null
  }
}

const server = http.createServer(async (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, {allow: 'GET, HEAD'}).end()
    return
  }
  const found = await resolveFile(req.url || '/')
  if (!found) return notFound(res)
  res.writeHead(200, {'content-type': TYPES[extname(found.file).toLowerCase()] || 'application/octet-stream', 'content-length': found.size, 'x-content-type-options': 'nosniff'})
  if (req.method === 'HEAD') return res.end()
  createReadStream(found.file).on('error', () => res.destroy()).pipe(res)
})

server.listen(port, '127.0.0.1', () => console.log(`static: serving ${root} on http://127.0.0.1:${port}`))

process.on('SIGTERM', () => {
  server.close(() => process.exit(0))
  server.closeIdleConnections()
})
