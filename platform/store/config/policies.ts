import type {Policy, PolicyRules} from '../../../src/lib/api-types/index.js'
import {randomBytes} from 'node:crypto'
import {newId} from '../../../src/protocol/ids.js'
import {changed, type StoreCtx} from '../db.js'
import {normaliseName} from '../names.js'
import type {PoliciesTable} from '../schema.js'

type Row = PoliciesTable
/** The sealed part of a policy. */
export interface PolicyDoc {
  name: string
  public: boolean
  allow: PolicyRules
  deny: PolicyRules
}
const T = 'policies'

export const emptyRules = (): PolicyRules => ({emails: [], directories: [], serviceAccounts: [], ips: []})

function toPolicy(c: StoreCtx, r: Row): Policy {
  const d = c.cipher.openJson<PolicyDoc>(T, r.id, r.doc)
  return {id: r.id, projectId: r.project_id, ...d, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString()}
}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('policies.name', normaliseName(name))

export async function createPolicy(c: StoreCtx, projectId: string, doc: PolicyDoc): Promise<Policy> {
  const id = newId('policy')
  const now = Date.now()
  await c.db.insertInto(T).values({id, project_id: projectId, name_bidx: nameIndex(c, doc.name), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, doc)}).execute()
  return (await getPolicy(c, id))!
}

export async function getPolicy(c: StoreCtx, id: string): Promise<Policy | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toPolicy(c, r)
}

export async function findPolicyByName(c: StoreCtx, projectId: string, name: string): Promise<Policy | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('project_id', '=', projectId).where('name_bidx', '=', nameIndex(c, name)).executeTakeFirst()
  return r && toPolicy(c, r)
}

export async function listPolicies(c: StoreCtx, projectId?: string): Promise<Policy[]> {
  let q = c.db.selectFrom(T).selectAll()
  if (projectId) q = q.where('project_id', '=', projectId)
  const rows = await q.orderBy('created_at').orderBy('id').execute()
  return rows.map((r) => toPolicy(c, r))
}

export async function updatePolicy(c: StoreCtx, id: string, doc: PolicyDoc): Promise<Policy | undefined> {
  const n = changed(await c.db.updateTable(T).set({name_bidx: nameIndex(c, doc.name), updated_at: Date.now(), doc: c.cipher.sealJson(T, id, doc)}).where('id', '=', id).executeTakeFirst())
  return n ? getPolicy(c, id) : undefined
}

export async function deletePolicy(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}

/**
 * Erasure: replaces an erased user's email in every policy by an address that matches nobody
 * (`.invalid`, RFC 2606). Dropping it instead could widen a policy, since an allow list left empty
 * lets any signed-in user in. Returns the ids of the policies it changed.
 */
export async function forgetEmail(c: StoreCtx, email: string): Promise<string[]> {
  const wanted = email.toLowerCase()
  const stand = `erased-${randomBytes(6).toString('hex')}@erased.invalid`
  const changedIds: string[] = []
  for (const p of await listPolicies(c)) {
    const swap = (r: PolicyRules): PolicyRules => ({...r, emails: r.emails.map((e) => (e.toLowerCase() === wanted ? stand : e))})
    if (![...p.allow.emails, ...p.deny.emails].some((e) => e.toLowerCase() === wanted)) continue
    await updatePolicy(c, p.id, {name: p.name, public: p.public, allow: swap(p.allow), deny: swap(p.deny)})
    changedIds.push(p.id)
  }
  return changedIds
}
