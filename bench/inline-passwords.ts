// Preloaded (`node --import`) into a platform by bench/login-stall.ts: password hashing back on the
// platform's main thread, as before the worker thread, for the "before" side of the A/B.
import {PasswordHasher} from '../platform/store/crypto.js'

const create = PasswordHasher.create.bind(PasswordHasher)
PasswordHasher.create = (strength, opts) => create(strength, {...opts, inline: true})
