import {type RawBuilder, type SqlBool, sql} from 'kysely'

/**
 * Keyset pagination over (created_at, id): stable under inserts, and the cursor is opaque to
 * callers. Ids are random, so the cursor leaks no counts.
 */
export interface PageRequest {
  limit: number
  cursor?: string
}

export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface CursorPosition {
  at: number
  id: string
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(`${p.at}:${p.id}`, 'utf8').toString('base64url')
}

export function decodeCursor(cursor: string | undefined): CursorPosition | undefined {
  if (!cursor) return undefined
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const m = /^(\d{1,16}):([a-z]{2,3}_[0-9a-z]{20})$/.exec(text)
  if (!m) throw new RangeError('cursor is not one this API returned')
  return {at: Number(m[1]), id: m[2]}
}

/** One page of rows fetched with limit + 1, so the extra row says whether there is a next page. */
export function pageOf<R extends {id: string}, T>(rows: R[], limit: number, atOf: (r: R) => number, map: (r: R) => T): Page<T> {
  const more = rows.length > limit
  const slice = more ? rows.slice(0, limit) : rows
  const last = slice.at(-1)
  return {items: slice.map(map), nextCursor: more && last ? encodeCursor({at: atOf(last), id: last.id}) : null}
}

/** The keyset condition "after this cursor" over (atColumn, id), for a query ordered by them. */
export function afterCursor(after: CursorPosition, atColumn = 'created_at'): RawBuilder<SqlBool> {
  const at = sql.ref(atColumn)
  return sql<SqlBool>`(${at} > ${after.at} OR (${at} = ${after.at} AND id > ${after.id}))`
}
