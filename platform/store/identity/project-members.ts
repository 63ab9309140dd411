import type {Db} from '../db.js'

/** Which projects a member-role user may reach. Owners and admins reach every project. */
export function addProjectMember(db: Db, projectId: string, userId: string): void {
  db.prepare('INSERT OR IGNORE INTO project_members (project_id, user_id, created_at) VALUES (?, ?, ?)').run(projectId, userId, Date.now())
}

export function removeProjectMember(db: Db, projectId: string, userId: string): boolean {
  return db.prepare('DELETE FROM project_members WHERE project_id = ? AND user_id = ?').run(projectId, userId).changes > 0
}

export function projectsOfUser(db: Db, userId: string): string[] {
  return (db.prepare('SELECT project_id FROM project_members WHERE user_id = ?').all(userId) as Array<{project_id: string}>).map((r) => r.project_id)
}

export function membersOfProject(db: Db, projectId: string): string[] {
  return (db.prepare('SELECT user_id FROM project_members WHERE project_id = ? ORDER BY created_at').all(projectId) as Array<{user_id: string}>).map((r) => r.user_id)
}

export function forgetProject(db: Db, projectId: string): void {
  db.prepare('DELETE FROM project_members WHERE project_id = ?').run(projectId)
}
