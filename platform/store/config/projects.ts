import type {Project} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {changed, type StoreCtx} from '../db.js'
import {normaliseName} from '../names.js'
import {afterCursor, decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'
import type {ProjectsTable} from '../schema.js'

export type {StoreCtx} from '../db.js'

type Row = ProjectsTable
interface Doc {
  name: string
  description: string
}
const T = 'projects'

function toProject(c: StoreCtx, r: Row): Project {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  return {id: r.id, name: d.name, description: d.description, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('projects.name', normaliseName(name))

export async function createProject(c: StoreCtx, input: {name: string; description?: string}): Promise<Project> {
  const id = newId('project')
  const now = Date.now()
  await c.db.insertInto(T).values({id, name_bidx: nameIndex(c, input.name), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, {name: input.name, description: input.description ?? ''})}).execute()
  return (await getProject(c, id))!
}

export async function getProject(c: StoreCtx, id: string): Promise<Project | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toProject(c, r)
}

export async function findProjectByName(c: StoreCtx, name: string): Promise<Project | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('name_bidx', '=', nameIndex(c, name)).executeTakeFirst()
  return r && toProject(c, r)
}

/** Lists projects, optionally only those whose id is in `only` (a member's reach). */
export async function listProjects(c: StoreCtx, page: PageRequest, only?: readonly string[]): Promise<Page<Project>> {
  const after = decodeCursor(page.cursor)
  if (only && only.length === 0) return {items: [], nextCursor: null}
  let q = c.db.selectFrom(T).selectAll()
  if (after) q = q.where(afterCursor(after))
  if (only) q = q.where('id', 'in', only)
  const rows = await q.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute()
  return pageOf(rows, page.limit, (r) => r.created_at, (r) => toProject(c, r))
}

export async function updateProject(c: StoreCtx, id: string, patch: {name?: string; description?: string}): Promise<Project | undefined> {
  const current = await getProject(c, id)
  if (!current) return undefined
  const doc: Doc = {name: patch.name ?? current.name, description: patch.description ?? current.description}
  await c.db.updateTable(T).set({name_bidx: nameIndex(c, doc.name), updated_at: Date.now(), doc: c.cipher.sealJson(T, id, doc)}).where('id', '=', id).execute()
  return getProject(c, id)
}

export async function deleteProject(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}
