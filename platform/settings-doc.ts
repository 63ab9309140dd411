import {readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {envName, expected, SETTINGS, type Setting} from './settings.js'

/** The README's config reference sits between these lines; `npm run docs:config` rewrites it. */
export const REFERENCE_START = '<!-- config-reference:start (generated from platform/settings.ts by `npm run docs:config`; do not edit) -->'
export const REFERENCE_END = '<!-- config-reference:end -->'

/** The config reference as a markdown table, one row per setting. */
export function renderConfigReference(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.map((s) => [
    `\`${s.key}\``,
    s.default === undefined ? s.defaultText ?? '(unset)' : defaultText(s),
    expected(s) + upTo(s) + (s.secret ? '; secret' : ''),
    `\`${envName(s)}\``,
    s.flag ? `\`--${s.flag}\`` : '',
    s.description + (s.inFile === false ? ' Not read from the config file.' : ''),
  ])
  const lines = [
    '| setting | default | value | variable | flag | meaning |',
    '|---|---|---|---|---|---|',
    ...rows.map((cells) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`),
  ]
  return lines.join('\n')
}

function defaultText(s: Setting): string {
  const v = s.default!
  const plain = `\`${Array.isArray(v) ? v.join(',') : String(v)}\``
  if (typeof v !== 'number' || v === 0) return plain
  if (s.key.endsWith('Ms') && v >= 1000) return `${plain} (${duration(v)})`
  if (s.key.endsWith('Bytes') && v >= 1024) return `${plain} (${size(v)})`
  return plain
}

/** The upper bound of a duration or size in units people read. */
function upTo(s: Setting): string {
  if (s.max === undefined || s.max < 1000) return ''
  if (s.key.endsWith('Ms')) return ` ms (up to ${duration(s.max)})`
  if (s.key.endsWith('Bytes')) return ` bytes (up to ${size(s.max)})`
  return ''
}

function duration(ms: number): string {
  for (const [unit, n] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms % n === 0) return `${ms / n} ${unit}`
  return `${ms} ms`
}

function size(bytes: number): string {
  for (const [unit, n] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (bytes % n === 0) return `${bytes / n} ${unit}`
  return `${bytes} B`
}

/** `readme` with the text between the markers replaced by the current reference. */
export function withReference(readme: string): string {
  const start = readme.indexOf(REFERENCE_START)
  const end = readme.indexOf(REFERENCE_END)
  if (start < 0 || end < start) throw new Error(`README.md has no "${REFERENCE_START}" … "${REFERENCE_END}" section`)
  return readme.slice(0, start + REFERENCE_START.length) + '\n' + renderConfigReference() + '\n' + readme.slice(end)
}

// `npm run docs:config`: node dist/platform/settings-doc.js rewrites README.md in place.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = fileURLToPath(new URL('../../README.md', import.meta.url))
  const before = readFileSync(path, 'utf8')
  const after = withReference(before)
  if (after !== before) writeFileSync(path, after)
  process.stdout.write(`${path}: config reference ${after === before ? 'already current' : 'updated'}\n`)
}
