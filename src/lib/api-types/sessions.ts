import type {SessionInfo} from './users.js'

/** A session as `GET /v1/sessions` lists it: with its user's email, for people reading the list. */
export interface SessionListItem extends SessionInfo {
  userEmail: string | null
}

export interface SessionRevokeResult {
  revoked: string[]
  /** the caller's own session, left alone by `--all` */
  kept: string | null
}
