import {MezuError} from './errors.js'

const UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3}

/** "10MB", "512k", "1048576" → bytes (binary units); undefined if malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d{1,12}(?:\.\d{1,3})?)\s*([a-z]*)\s*$/i.exec(text)
  if (!m) return undefined
  const unit = UNITS[m[2].toLowerCase()]
  if (unit === undefined) return undefined
  const n = Math.round(Number(m[1]) * unit)
  return n > 0 ? n : undefined
}

/** A size flag's value, or a usage error naming the flag. */
export function sizeFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const n = parseSize(text)
  if (n === undefined) throw new MezuError('usage', `--${flag} must be a size like 10MB, 512KB or a number of bytes, got "${text}"`)
  return n
}
