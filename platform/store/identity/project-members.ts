import {changed, type StoreCtx} from '../db.js'

const T = 'project_members'

/** Which projects a member-role user may reach. Owners and admins reach every project. */
export async function addProjectMember(c: StoreCtx, projectId: string, userId: string): Promise<void> {
  await c.db.insertInto(T).values({project_id: projectId, user_id: userId, created_at: Date.now()}).onConflict((oc) => oc.doNothing()).execute()
}

export async function removeProjectMember(c: StoreCtx, projectId: string, userId: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst()) > 0
}

export async function projectsOfUser(c: StoreCtx, userId: string): Promise<string[]> {
  return (await c.db.selectFrom(T).select('project_id').where('user_id', '=', userId).execute()).map((r) => r.project_id)
}

export async function membersOfProject(c: StoreCtx, projectId: string): Promise<string[]> {
  return (await c.db.selectFrom(T).select('user_id').where('project_id', '=', projectId).orderBy('created_at').execute()).map((r) => r.user_id)
}

export async function forgetProject(c: StoreCtx, projectId: string): Promise<void> {
  await c.db.deleteFrom(T).where('project_id', '=', projectId).execute()
}
