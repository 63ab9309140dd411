import type {HeadFields} from './frames.js'

/**
 * The layout of heads on the tunnel. A request head is `method, path, authority` then name/value
 * pairs; a response head is `status` then pairs; trailers are pairs only. Names are lower case.
 */
export const REQUEST_PAIRS_AT = 3
export const RESPONSE_PAIRS_AT = 1

/** Every value of `name` (lower case) among the pairs starting at `from`. */
export function headValues(head: HeadFields, from: number, name: string): string[] {
  const out: string[] = []
  for (let i = from; i + 1 < head.length; i += 2) if (head[i] === name) out.push(head[i + 1])
  return out
}

/** The one value of `name`, or undefined when it is absent. */
export function headValue(head: HeadFields, from: number, name: string): string | undefined {
  for (let i = from; i + 1 < head.length; i += 2) if (head[i] === name) return head[i + 1]
  return undefined
}
