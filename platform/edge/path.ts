/**
 * Request-path normalisation, done once before routing and policy so that every spelling of a
 * path reaches the same route and the same decision (a policy on /admin is not passed with
 * /%61dmin, //admin, /x/../admin or /admin/.). Ambiguous spellings are refused rather than guessed,
 * including those an origin would read as another path (`..;`, `%252e`, `%c0%ae`, `．．`).
 */
export type NormalisedPath =
  | {ok: true; path: string; query: string | null; target: string}
  | {ok: false; reason: string}

const UNRESERVED = /[A-Za-z0-9\-._~]/
const HEX = /^[0-9A-Fa-f]{2}$/
const UTF8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
// Bounds the work on a segment encoded over and over; no real name comes near it.
const MAX_READINGS = 32

// The server routes on the normalised path and the gate then checks the same request target:
// remembering the last answer saves the second pass. Callers only read the result.
let lastTarget: string | undefined
let lastResult: NormalisedPath = {ok: false, reason: ''}

/** Normalises an origin-form request target ("/a/b?q"); anything else is refused. */
export function normalisePath(target: string): NormalisedPath {
  if (target === lastTarget) return lastResult
  const result = normalise(target)
  lastTarget = target
  lastResult = result
  return result
}

function normalise(target: string): NormalisedPath {
  if (!target.startsWith('/')) return {ok: false, reason: 'the request target must be a path starting with "/"'}
  if (target.includes('#')) return {ok: false, reason: 'the request target contains "#"'}
  const q = target.indexOf('?')
  const rawPath = q === -1 ? target : target.slice(0, q)
  const query = q === -1 ? null : target.slice(q + 1)
  if (rawPath.includes('\\')) return {ok: false, reason: 'the path contains a backslash'}
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\uffff]/.test(target)) return {ok: false, reason: 'the request target contains a control, space or non-ASCII character'}
  if (query !== null && !validPercents(query)) return {ok: false, reason: 'the query contains invalid percent-encoding'}

  let decoded = ''
  // Only a ";", "%3b", "%25" or a byte over 0x7f can make an origin read a segment differently.
  let reread = false
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i]!
    if (ch !== '%') {
      if (ch === ';') reread = true
      decoded += ch
      continue
    }
    const hex = rawPath.slice(i + 1, i + 3)
    if (!HEX.test(hex)) return {ok: false, reason: 'the path contains invalid percent-encoding'}
    const code = parseInt(hex, 16)
    if (code === 0x2f || code === 0x5c) return {ok: false, reason: 'the path contains an encoded "/" or "\\"'}
    if (code === 0) return {ok: false, reason: 'the path contains an encoded NUL'}
    if (code === 0x25 || code === 0x3b || code >= 0x80) reread = true
    const c = String.fromCharCode(code)
    decoded += code < 0x80 && UNRESERVED.test(c) ? c : '%' + hex.toUpperCase()
    i += 2
  }
  if (reread) {
    const reason = originReadingProblem(rawPath)
    if (reason !== undefined) return {ok: false, reason}
  }

  const out: string[] = []
  const segments = decoded.split('/').slice(1)
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!
    const last = i === segments.length - 1
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop()
      // "/a/." and "/a/.." name a directory: keep the trailing slash
      if (last) out.push('')
      continue
    }
    if (seg === '' && !last) continue // repeated slashes collapse
    out.push(seg)
  }
  const path = '/' + out.join('/')
  return {ok: true, path, query, target: query === null ? path : `${path}?${query}`}
}

/**
 * Origins read segments in ways the edge does not: Tomcat, Jetty and Spring drop ";params", some
 * servers decode twice, some apply NFKC (fullwidth "．" is "."). A segment that any such reading
 * makes "." or "..", or splits with "/" or "\\", would let the origin serve a path the edge did not
 * route, so it is refused; so is a path that is not UTF-8 once decoded (overlong "%c0%ae" is ".").
 * ";" elsewhere (matrix parameters, "/a;v=1/b") is left alone.
 */
function originReadingProblem(rawPath: string): string | undefined {
  for (const segment of rawPath.split('/')) {
    if (!segment.includes(';') && !segment.includes('%')) continue
    const first = percentDecode(segment)
    if (first === undefined) return 'the path is not valid UTF-8 once percent-decoded (overlong or broken byte sequences are refused)'
    if (first === '.' || first === '..') continue // a dot segment the edge resolves itself
    const readings = new Set([first])
    for (const r of readings) { // a Set visits what is added while iterating
      if (/[/\\\0]/.test(r)) return 'a path segment holds "/", "\\" or NUL once decoded again or NFKC-normalised'
      const name = r.split(';', 1)[0]
      if (name === '.' || name === '..') return 'a path segment reads as "." or ".." once its ";" parameters are dropped, it is decoded again or NFKC-normalised'
      const again = percentDecode(r)
      if (again === undefined) return 'the path is not valid UTF-8 once percent-decoded twice'
      readings.add(again).add(r.normalize('NFKC'))
      if (readings.size > MAX_READINGS) return 'the path is percent-encoded too many times over'
    }
  }
  return undefined
}

/**
 * The other paths origins may read a normalised `path` as: ";" parameters dropped (Tomcat, Jetty,
 * Spring), decoded a second time, NFKC-normalised, or all of these at once. Routing checks that
 * each reaches the same route as `path` ("/secret;x" is "/secret" to Tomcat). Empty for most paths.
 */
export function originReadings(path: string): string[] {
  if (!path.includes(';') && !path.includes('%')) return []
  const segments = path.split('/')
  const readings = new Set<string>()
  for (const read of [dropParams, decodeAgain, nfkc, readAll]) {
    const p = segments.map(read).join('/')
    if (p === path) continue
    const n = normalise(p)
    readings.add(n.ok ? n.path : p)
  }
  readings.delete(path)
  return [...readings]
}

const dropParams = (s: string) => s.replace(/(;|%3B).*$/i, '')
const decodeAgain = (s: string) => changed(s, (d) => percentDecode(d) ?? d)
const nfkc = (s: string) => changed(s, (d) => d.normalize('NFKC'))
const readAll = (s: string) => changed(s, (d) => {
  for (let i = 0; i < MAX_READINGS; i++) {
    const next = (percentDecode(d) ?? d).normalize('NFKC')
    if (next === d) break
    d = next
  }
  return d.split(';', 1)[0]!
})

/** `read` applied to the decoded segment `s`; `s` itself (its exact spelling) when nothing changed. */
function changed(s: string, read: (decoded: string) => string): string {
  const decoded = percentDecode(s)
  if (decoded === undefined) return s
  const r = read(decoded)
  return r === decoded ? s : encodeSegment(r)
}

/** Percent-encodes a decoded segment as normalise() spells it: unreserved and sub-delims as they are. */
function encodeSegment(s: string): string {
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b)
    out += b < 0x80 && /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** Decodes every %XX of `s` as UTF-8; undefined when the bytes are not UTF-8 (overlong forms included). */
function percentDecode(s: string): string | undefined {
  if (!/%[0-9A-Fa-f]{2}/.test(s)) return s
  const src = Buffer.from(s, 'utf8')
  const out = Buffer.allocUnsafe(src.length)
  let n = 0
  for (let i = 0; i < src.length; i++) {
    const hex = src[i] === 0x25 ? src.toString('latin1', i + 1, i + 3) : ''
    if (HEX.test(hex)) {
      out[n++] = parseInt(hex, 16)
      i += 2
    } else out[n++] = src[i]!
  }
  try {
    return UTF8.decode(out.subarray(0, n))
  } catch {
    return undefined
  }
}

function validPercents(s: string): boolean {
  for (let i = s.indexOf('%'); i !== -1; i = s.indexOf('%', i + 1)) {
    if (!HEX.test(s.slice(i + 1, i + 3))) return false
  }
  return true
}

/** True when `path` is under `prefix` on a segment boundary ("/admin" covers "/admin/x", not "/administer"). Case-sensitive. */
export function pathUnder(path: string, prefix: string): boolean {
  if (prefix === '/' || prefix === '') return true
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  return path === p || path.startsWith(p + '/')
}
