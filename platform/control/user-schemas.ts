import {Type} from '@sinclair/typebox'
import type {Role, UserStatus} from '../../src/lib/api-types/index.js'

/** Enums as plain JSON-schema enums, so a bad value's error lists the allowed ones. */
export const RoleSchema = Type.Unsafe<Role>({type: 'string', enum: ['owner', 'admin', 'member']})
export const StatusSchema = Type.Unsafe<UserStatus>({type: 'string', enum: ['active', 'invited', 'disabled']})
export const DisplayName = Type.String({maxLength: 200})
export const DirectoryRefs = Type.Array(Type.String({minLength: 1, maxLength: 300}), {maxItems: 100})
