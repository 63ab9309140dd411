import type {Migration} from '../../migrate.js'
import {init} from './001-init.js'
import {acme} from './002-acme.js'
import {edges} from './003-edges.js'

/** config.db migrations, in order. Never edit one that has shipped; add the next. */
export const configMigrations: readonly Migration[] = [init, acme, edges]
