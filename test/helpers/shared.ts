import type {ExecutionContext} from 'ava'

/**
 * ava forbids t.teardown() in hooks; a file that shares one platform between its tests starts it
 * in test.before with this scope and disposes it in test.after.always.
 */
export function hookScope(): {t: ExecutionContext; dispose(): Promise<void>} {
  const fns: Array<() => unknown> = []
  const t = {
    teardown: (fn: () => unknown) => fns.push(fn),
    fail: (message: string) => {
      throw new Error(message)
    },
  } as unknown as ExecutionContext
  return {
    t,
    async dispose() {
      for (const fn of fns.reverse()) await fn()
    },
  }
}
