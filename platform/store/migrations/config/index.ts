import type {Migration} from '../../migrate.js'
import {init} from './001-init.js'

/** config.db migrations, in order. Never edit one that has shipped; add the next. */
export const configMigrations: readonly Migration[] = [init]
