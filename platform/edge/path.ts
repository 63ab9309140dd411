/**
 * Request-path normalisation, done once before routing and policy so that every spelling of a
 * path reaches the same route and the same decision (a policy on /admin is not passed with
 * /%61dmin, //admin, /x/../admin or /admin/.). Ambiguous spellings are refused rather than guessed.
 */
export type NormalisedPath =
  | {ok: true; path: string; query: string | null; target: string}
  | {ok: false; reason: string}

const UNRESERVED = /[A-Za-z0-9\-._~]/
const HEX = /^[0-9A-Fa-f]{2}$/

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
  for (let i = 0; i < rawPath.length; i++) {
    const ch = rawPath[i]!
    if (ch !== '%') {
      decoded += ch
      continue
    }
    const hex = rawPath.slice(i + 1, i + 3)
    if (!HEX.test(hex)) return {ok: false, reason: 'the path contains invalid percent-encoding'}
    const code = parseInt(hex, 16)
    if (code === 0x2f || code === 0x5c) return {ok: false, reason: 'the path contains an encoded "/" or "\\"'}
    if (code === 0) return {ok: false, reason: 'the path contains an encoded NUL'}
    const c = String.fromCharCode(code)
    decoded += code < 0x80 && UNRESERVED.test(c) ? c : '%' + hex.toUpperCase()
    i += 2
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
