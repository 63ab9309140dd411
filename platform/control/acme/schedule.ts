import type {AcmeConfig} from '../../acme-config.js'

/** Time as the ACME manager sees it; injected so renewal and backoff are tested without sleeping. */
export interface AcmeClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The real clock; timers are unref'd so a renewal weeks away never keeps the process alive. */
export const systemAcmeClock: AcmeClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** setTimeout overflows past 2^31-1 ms (24.8 days); longer waits are re-armed in steps of this. */
export const MAX_TIMER_MS = 6 * 60 * 60 * 1000

/** When a certificate valid from notBefore to notAfter is renewed: after `renewAfter` of its lifetime. */
export function renewalTime(cert: {notBeforeMs: number; notAfterMs: number}, renewAfter: number): number {
  return cert.notBeforeMs + Math.floor((cert.notAfterMs - cert.notBeforeMs) * renewAfter)
}

/** The wait after the `failures`-th failure in a row: retry.minMs, doubling, at most retry.maxMs. */
export function retryDelay(failures: number, retry: AcmeConfig['retry']): number {
  return Math.min(retry.maxMs, retry.minMs * 2 ** Math.max(0, failures - 1))
}
