import {type Static, Type} from '@sinclair/typebox'
import type {PageRequest} from '../store/page.js'
import {ApiError} from './errors.js'

/** Names of projects, environments, routes, policies, directories, service accounts. */
export const Name = Type.String({minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$'})
export const NAME_RULE = 'letters, digits, "-", "_" and "." (starting with a letter or digit), at most 63 characters'

export const Email = Type.String({minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$'})

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({pattern: '^[0-9]{1,4}$'})),
    cursor: Type.Optional(Type.String({maxLength: 200})),
  },
  {additionalProperties: false},
)
export type PageQueryT = Static<typeof PageQuery>

export const RefParams = Type.Object({ref: Type.String({minLength: 1, maxLength: 200})})
export type RefParamsT = Static<typeof RefParams>

export function parsePage(q: {limit?: string; cursor?: string}, max = 500): PageRequest {
  const limit = q.limit === undefined ? 100 : Number(q.limit)
  if (limit < 1 || limit > max) throw new ApiError('invalid_request', `limit must be from 1 to ${max}`, 'limit')
  return {limit, cursor: q.cursor}
}
