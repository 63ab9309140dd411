import http from 'node:http'

/** One sample line of the Prometheus text format (0.0.4). */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

/** A scrape: every sample, and the TYPE and HELP given per metric family. */
export interface Scrape {
  samples: PromSample[]
  types: Map<string, string>
  help: Map<string, string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/

/** Parses label pairs `a="x",b="y\"z"` with the format's escapes (\\, \", \n). */
function parseLabels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  while (i < text.length) {
    const eq = text.indexOf('=', i)
    if (eq < 0 || text[eq + 1] !== '"') throw new Error(`bad labels in: ${line}`)
    const name = text.slice(i, eq).trim()
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name "${name}" in: ${line}`)
    let value = ''
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j]
        value += next === 'n' ? '\n' : next
      } else {
        value += text[j]
      }
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`)
    if (name in out) throw new Error(`label ${name} twice in: ${line}`)
    out[name] = value
    i = j + 1
    if (text[i] === ',') i++
  }
  return out
}

/** Parses a whole exposition; throws on any line that is not HELP, TYPE, a comment, a sample or empty. */
export function parsePrometheus(text: string): Scrape {
  const scrape: Scrape = {samples: [], types: new Map(), help: new Map()}
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`unknown TYPE in: ${line}`)
        scrape.types.set(name, rest)
      } else {
        scrape.help.set(name, rest)
      }
      continue
    }
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any letter case (prom-client writes "Nan")
    const word = m[3].toLowerCase()
    const value = word === 'nan' ? NaN : /^[+]?inf$/.test(word) ? Infinity : word === '-inf' ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && word !== 'nan') throw new Error(`bad value in: ${line}`)
    scrape.samples.push({name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value})
  }
  return scrape
}

/** The samples named `name` whose labels include `labels`. */
export function find(s: Scrape, name: string, labels: Record<string, string> = {}): PromSample[] {
  return s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
}

/** The sum of those samples' values (0 when there are none). */
export function total(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return find(s, name, labels).reduce((n, x) => n + x.value, 0)
}

/** GET over plain HTTP: status, content type and body. */
export function httpGet(url: string): Promise<{status: number; type: string; text: string}> {
  return new Promise((resolve, reject) => {
    http.get(url, {agent: false}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text}))
      res.on('error', reject)
    }).on('error', reject)
  })
}

/** Scrapes and parses /metrics at `url`. */
export async function scrape(url: string): Promise<Scrape> {
  const r = await httpGet(url)
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${r.text}`)
  if (!r.type.startsWith('text/plain')) throw new Error(`${url} is ${r.type}, not the text format`)
  return parsePrometheus(r.text)
}
