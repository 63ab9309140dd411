/** The one error shape of the API: `{error: {code, message}}`. */
export interface ApiErrorBody {
  error: {code: string; message: string; field?: string; problems?: InputProblem[]}
}

/** One thing wrong with one row of an input file (`users import`): where, which field, what. */
export interface InputProblem {
  line: number | null
  field: string | null
  message: string
}

/** Every list endpoint answers a page; pass `nextCursor` back as `cursor` for the next one. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export type Role = 'owner' | 'admin' | 'member'

/** Who made a request, as the API sees it. */
export interface Principal {
  kind: 'user' | 'service-account'
  id: string
  /** email for users, account name for service accounts */
  name: string
  role?: Role
  scopes?: string[]
  projectId?: string | null
  sessionId?: string
  /** when the token (session or API key) stops working; null: never (a key without expiry) */
  expiresAt?: string | null
}
