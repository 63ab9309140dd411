import type {Migration} from '../../migrate.js'
import {init} from './001-init.js'
import {userKeys} from './002-user-keys.js'
import {usersOrder} from './003-users-order.js'
import {callbackCodes} from './004-callback-codes.js'

/** identity.db migrations, in order. Never edit one that has shipped; add the next. */
export const identityMigrations: readonly Migration[] = [init, userKeys, usersOrder, callbackCodes]
