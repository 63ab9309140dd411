/** A directory: a team or department; they form a tree through parentId. */
export interface Directory {
  id: string
  name: string
  parentId: string | null
  /** names from the root, joined by "/", e.g. "eng/platform" */
  path: string
  /** direct members (not those of sub-directories) */
  memberCount: number
  /** direct sub-directories */
  childCount: number
  createdAt: string
  updatedAt: string
}

export interface DirectoryMember {
  id: string
  email: string
  name: string
  addedAt: string
}
