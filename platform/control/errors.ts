/**
 * The API's error catalogue. Every error the API answers has one of these codes; callers branch
 * on `code`, never on message text. The README's error table lists the same codes (a test checks).
 */
import type {ApiErrorBody, InputProblem} from '../../src/lib/api-types/index.js'

export const API_ERRORS = {
  invalid_request: {status: 400, summary: 'The request body, query or parameters do not fit the schema; `field` names the part.'},
  unauthenticated: {status: 401, summary: 'No credentials, or a token or key that is unknown.'},
  token_expired: {status: 401, summary: 'The session or API key has expired.'},
  token_revoked: {status: 401, summary: 'The session or API key was revoked.'},
  invalid_credentials: {status: 401, summary: 'Email or password is wrong.'},
  forbidden: {status: 403, summary: 'Authenticated, but the role or scopes do not allow this.'},
  not_found: {status: 404, summary: 'No such resource within the caller\'s reach.'},
  conflict: {status: 409, summary: 'A resource with that name already exists, or the change conflicts with current state.'},
  not_empty: {status: 409, summary: 'The resource still has children; repeat with force to delete them too.'},
  in_use: {status: 409, summary: 'The resource is used by others (a policy by routes); repeat with force.'},
  invite_used: {status: 410, summary: 'The invitation code was already used; ask an admin for a new one (`mezu users invite`).'},
  authorization_pending: {status: 428, summary: 'The web login is not approved yet; poll again after the interval (`mezu login --web` does).'},
  slow_down: {status: 429, summary: 'The web login was polled faster than its interval; wait 5 seconds longer between polls from now on.'},
  expired_token: {status: 410, summary: 'The web login code expired, was already used, or is unknown; start again with `mezu login --web`.'},
  access_denied: {status: 403, summary: 'The web login was denied in the browser, or the account is not active.'},
  invite_expired: {status: 410, summary: 'The invitation code has expired; ask an admin for a new one (`mezu users invite`).'},
  payload_too_large: {status: 413, summary: 'The request body is larger than the API accepts.'},
  unsupported_media_type: {status: 415, summary: 'The body is not JSON.'},
  too_many_requests: {status: 429, summary: 'Too many failed attempts; retry after the time given.'},
  internal: {status: 500, summary: 'Something broke on the platform; the log has the details.'},
  store_unavailable: {status: 503, summary: 'The database behind the platform cannot be reached right now; retry shortly (the platform reconnects by itself, and nothing acknowledged is lost).'},
} as const

export type ApiErrorCode = keyof typeof API_ERRORS

export class ApiError extends Error {
  override name = 'ApiError'
  readonly status: number
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
    /** every row that is wrong, when a whole file was refused */
    readonly problems?: InputProblem[],
  ) {
    super(message)
    this.status = API_ERRORS[code].status
  }

  toBody(): ApiErrorBody {
    return {error: {code: this.code, message: this.message, ...(this.field ? {field: this.field} : {}), ...(this.problems ? {problems: this.problems} : {})}}
  }
}

export const notFound = (what: string, ref: string) => new ApiError('not_found', `${what} "${ref}" not found`)
