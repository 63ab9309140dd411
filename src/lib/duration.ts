const UNITS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** Parses "90s", "15m", "1h", "30d", "2w" (or a sum like "1h30m") into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim()
  if (!/^(\d{1,9}[smhdw])+$/.test(s)) return undefined
  let total = 0
  for (const m of s.matchAll(/(\d{1,9})([smhdw])/g)) total += Number(m[1]) * UNITS[m[2]]
  return total
}

/** An `--expires` value: a duration from now ("30d") or an ISO date/time; returns epoch ms. */
export function parseExpiry(text: string, now = Date.now()): number | undefined {
  const d = parseDuration(text)
  if (d !== undefined) return now + d
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined
  const t = Date.parse(text)
  return Number.isNaN(t) ? undefined : t
}
