import type {AuditEntry} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../db.js'
import {type CursorPosition, decodeCursor, encodeCursor, type Page, type PageRequest} from '../page.js'
import type {AuditTable} from '../schema.js'

type Row = AuditTable
const T = 'audit'

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>

export async function appendAudit(c: StoreCtx, entry: AuditInput): Promise<string> {
  const id = newId('audit')
  // Ids are random, so order rests on `at` alone: keep it strictly increasing, so entries
  // written within one millisecond still read back in the order they happened.
  const last = (await c.db.selectFrom(T).select((eb) => eb.fn.max('at').as('at')).executeTakeFirst())?.at ?? 0
  await c.db.insertInto(T).values({id, at: Math.max(Date.now(), Number(last) + 1), doc: c.cipher.sealJson(T, id, entry)}).execute()
  return id
}

/** One batch of entries older than `before` (newest first), or the newest when there is no cursor. */
async function auditBefore(c: StoreCtx, before: CursorPosition | undefined): Promise<Row[]> {
  let q = c.db.selectFrom(T).selectAll()
  if (before) q = q.where((eb) => eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]))
  return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(200).execute()
}

/** Newest first. */
export async function listAudit(c: StoreCtx, page: PageRequest, filter: (e: AuditEntry) => boolean = () => true): Promise<Page<AuditEntry>> {
  let before = decodeCursor(page.cursor)
  const out: AuditEntry[] = []
  let last: Row | undefined
  // Filters apply to sealed fields, so scan in batches until the page is full.
  for (;;) {
    const rows = await auditBefore(c, before)
    if (rows.length === 0) return {items: out, nextCursor: null}
    for (const r of rows) {
      last = r
      const d = c.cipher.openJson<AuditInput>(T, r.id, r.doc)
      const e: AuditEntry = {id: r.id, at: new Date(r.at).toISOString(), ...d}
      if (filter(e)) out.push(e)
      if (out.length === page.limit) {
        return {items: out, nextCursor: encodeCursor({at: r.at, id: r.id})}
      }
    }
    before = {at: last!.at, id: last!.id}
  }
}

/** Rewrites entries that name a user to an anonymous form (erasure keeps only that it happened). */
export async function anonymiseAuditFor(c: StoreCtx, userId: string, matches: (e: AuditInput) => boolean, email?: string): Promise<number> {
  const names = (x: {id: string | null; name?: string | null}) => x.id === userId || (!!email && x.name?.toLowerCase() === email.toLowerCase())
  const rows = await c.db.selectFrom(T).selectAll().execute()
  let n = 0
  for (const r of rows) {
    const d = c.cipher.openJson<AuditInput>(T, r.id, r.doc)
    if (!matches(d)) continue
    const anon: AuditInput = {
      ...d,
      actor: names(d.actor) ? {kind: d.actor.kind, id: null, name: null} : d.actor,
      target: names(d.target) ? {type: d.target.type, id: null, name: null} : d.target,
      // where the person acted from is about them too
      ip: names(d.actor) ? null : d.ip,
      details: undefined,
    }
    await c.db.updateTable(T).set({doc: c.cipher.sealJson(T, r.id, anon)}).where('id', '=', r.id).execute()
    n++
  }
  return n
}
