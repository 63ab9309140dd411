import {Type} from '@sinclair/typebox'
import type {Role} from '../../src/lib/api-types/index.js'

/** Enums as plain JSON-schema enums, so a bad value's error lists the allowed ones. */
export const RoleSchema = Type.Unsafe<Role>({type: 'string', enum: ['owner', 'admin', 'member']})
export const DisplayName = Type.String({maxLength: 200})
export const DirectoryRefs = Type.Array(Type.String({minLength: 1, maxLength: 300}), {maxItems: 100})

/** The same enums as unions, for TypeBox's own Value checks (which do not know Unsafe types). */
export const RoleUnion = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
export const StatusUnion = Type.Union([Type.Literal('active'), Type.Literal('invited'), Type.Literal('disabled')])
