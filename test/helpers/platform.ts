import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ExecutionContext} from 'ava'
import {buildConfig, type PlatformConfig} from '../../platform/config.js'
import {type EdgePlugins, type RunningPlatform, startPlatform} from '../../platform/server.js'
import {testStoreLocation} from './store-engine.js'

export const ADMIN_EMAIL = 'owner@example.test'
export const ADMIN_PASSWORD = 'correct horse battery staple'

export interface TestPlatform extends RunningPlatform {
  dir: string
  config: PlatformConfig
  /** Stops and starts again on the same data directory and ports 0 (new ports). */
  restart(): Promise<TestPlatform>
}

export function tempDir(t: ExecutionContext, prefix = 'mezu-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** A real platform on port 0 in a temp data directory (and its own PostgreSQL database under MEZU_TEST_STORE=postgres), stopped when the test ends. */
export async function startTestPlatform(t: ExecutionContext, overrides: Partial<PlatformConfig> = {}, dir = tempDir(t), edge?: EdgePlugins): Promise<TestPlatform> {
  // under MEZU_TEST_STORE=postgres each platform gets a database of its own, kept across restart()
  if (!overrides.store) {
    const store = await testStoreLocation()
    if (store) overrides = {...overrides, store}
  }
  const config = buildConfig({dataDir: join(dir, 'data'), apiPort: 0, edgePort: 0, tunnelPort: 0, ...overrides})
  const running = await startPlatform(config, {adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD, edge})
  let stopped = false
  const stop = running.stop.bind(running)
  const p: TestPlatform = Object.assign(running, {
    dir,
    config,
    async stop() {
      if (stopped) return
      stopped = true
      await stop()
    },
    async restart() {
      await p.stop()
      return startTestPlatform(t, overrides, dir, edge)
    },
  })
  t.teardown(() => p.stop())
  return p
}
