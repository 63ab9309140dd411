import {parentPort} from 'node:worker_threads'
import sodiumModule from 'libsodium-wrappers-sumo'

/**
 * The worker thread of PasswordHasher (crypto.ts): argon2id off the platform's event loop, with
 * its own libsodium, so the wasm heap that argon2id grows (64 MiB and more) goes away with the
 * thread when it exits idle. Requests are answered one at a time, in the order they came.
 * Nothing here logs or keeps a password: it lives in the request message until the answer is sent.
 */

export type PasswordRequest =
  | {id: number; op: 'hash'; password: string; opslimit: number; memlimit: number}
  | {id: number; op: 'verify'; hash: string; password: string}

export type PasswordReply = {id: number; ok: true; value: string | boolean} | {id: number; ok: false; error: string}

const port = parentPort
if (!port) throw new Error('password-worker.js runs as a worker thread started by PasswordHasher')

// Top-level await: messages that arrive meanwhile wait in the port until the listener below starts it.
await sodiumModule.ready
const sodium = sodiumModule

function answer(req: PasswordRequest): PasswordReply {
  try {
    if (req.op === 'hash') return {id: req.id, ok: true, value: sodium.crypto_pwhash_str(req.password, req.opslimit, req.memlimit)}
    let ok: boolean
    try {
      ok = sodium.crypto_pwhash_str_verify(req.hash, req.password)
    } catch {
      // a malformed hash (or a non-argon2 one) verifies nothing, as on the main thread before
      ok = false
    }
    return {id: req.id, ok: true, value: ok}
  } catch (error) {
    // libsodium's messages are fixed strings ("internal error"); none carries its input
    return {id: req.id, ok: false, error: error instanceof Error ? error.message : 'unknown error'}
  }
}

port.on('message', (req: PasswordRequest) => {
  port.postMessage(answer(req))
})
