import type {Environment} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {changed, type StoreCtx} from '../db.js'
import {normaliseName} from '../names.js'
import {afterCursor, decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'
import type {EnvironmentsTable} from '../schema.js'

type Row = EnvironmentsTable
const T = 'environments'

function toEnv(c: StoreCtx, r: Row): Environment {
  const d = c.cipher.openJson<{name: string}>(T, r.id, r.doc)
  return {id: r.id, projectId: r.project_id, name: d.name, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('environments.name', normaliseName(name))

export async function createEnvironment(c: StoreCtx, projectId: string, name: string): Promise<Environment> {
  const id = newId('environment')
  const now = Date.now()
  await c.db.insertInto(T).values({id, project_id: projectId, name_bidx: nameIndex(c, name), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, {name})}).execute()
  return (await getEnvironment(c, id))!
}

export async function getEnvironment(c: StoreCtx, id: string): Promise<Environment | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toEnv(c, r)
}

export async function findEnvironmentByName(c: StoreCtx, projectId: string, name: string): Promise<Environment | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('project_id', '=', projectId).where('name_bidx', '=', nameIndex(c, name)).executeTakeFirst()
  return r && toEnv(c, r)
}

export async function listEnvironments(c: StoreCtx, projectId: string, page: PageRequest): Promise<Page<Environment>> {
  const after = decodeCursor(page.cursor)
  let q = c.db.selectFrom(T).selectAll().where('project_id', '=', projectId)
  if (after) q = q.where(afterCursor(after))
  const rows = await q.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute()
  return pageOf(rows, page.limit, (r) => r.created_at, (r) => toEnv(c, r))
}

export async function countEnvironments(c: StoreCtx, projectId: string): Promise<number> {
  const r = await c.db.selectFrom(T).select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()
  return Number(r.n)
}

export async function renameEnvironment(c: StoreCtx, id: string, name: string): Promise<Environment | undefined> {
  const n = changed(await c.db.updateTable(T).set({name_bidx: nameIndex(c, name), updated_at: Date.now(), doc: c.cipher.sealJson(T, id, {name})}).where('id', '=', id).executeTakeFirst())
  return n ? getEnvironment(c, id) : undefined
}

export async function deleteEnvironment(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}
