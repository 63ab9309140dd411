/**
 * Pure functions over the directory tree, shared by the control plane (API answers) and the edge
 * (policy groups). They take plain data so the edge can use them on its snapshot without ever
 * touching the store.
 */

/** One directory as the tree needs it. */
export interface DirectoryNode {
  id: string
  parentId: string | null
  name: string
}

export type DirectoryTree = ReadonlyMap<string, DirectoryNode>

export function treeOf(nodes: Iterable<DirectoryNode>): DirectoryTree {
  const m = new Map<string, DirectoryNode>()
  for (const n of nodes) m.set(n.id, n)
  return m
}

/** The ids from `id` up to its root, `id` first. Stops at a missing parent or a (corrupt) cycle. */
export function ancestorsOf(tree: DirectoryTree, id: string): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  let cur = tree.get(id)
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id)
    out.push(cur.id)
    cur = cur.parentId === null ? undefined : tree.get(cur.parentId)
  }
  return out
}

/** "eng/platform" for the directory platform under eng; undefined for an unknown id. */
export function directoryPath(tree: DirectoryTree, id: string): string | undefined {
  if (!tree.has(id)) return undefined
  return ancestorsOf(tree, id).reverse().map((a) => tree.get(a)!.name).join('/')
}

/** True when `candidate` is `id` itself or one of its descendants (moving id under it would make a cycle). */
export function isSelfOrDescendant(tree: DirectoryTree, id: string, candidate: string): boolean {
  return ancestorsOf(tree, candidate).includes(id)
}

/**
 * The directories a user is in for policy purposes: those they are a member of, and every
 * ancestor of those (a member of eng/platform is in eng). Sorted, without duplicates.
 */
export function directoryIdsOfUser(tree: DirectoryTree, memberships: Iterable<{directoryId: string; userId: string}>, userId: string): string[] {
  const out = new Set<string>()
  for (const m of memberships) {
    if (m.userId !== userId) continue
    for (const a of ancestorsOf(tree, m.directoryId)) out.add(a)
  }
  return [...out].sort()
}
