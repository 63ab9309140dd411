import https from 'node:https'
import type {TestPlatform} from './platform.js'
import {edgeRequest} from './tunnel.js'

export interface LoadOutcome {
  startedAt: number
  status: number | 'error'
  body: string
}

/**
 * Steady load on one host: `concurrency` loops, each sending the next request as soon as the
 * previous one finished, until stop() is called. Keeps every outcome.
 */
export function startLoad(platform: TestPlatform, host: string, paths: string[], concurrency = 6) {
  const agent = new https.Agent({keepAlive: true, maxSockets: concurrency})
  const outcomes: LoadOutcome[] = []
  let running = true
  let n = 0
  const loop = async () => {
    while (running) {
      const path = paths[n++ % paths.length]
      const startedAt = Date.now()
      try {
        const r = await edgeRequest(platform, host, path, {agent})
        outcomes.push({startedAt, status: r.status, body: r.text})
      } catch (error) {
        outcomes.push({startedAt, status: 'error', body: (error as Error).message})
      }
    }
  }
  const loops = Array.from({length: concurrency}, loop)
  return {
    outcomes,
    async stop(): Promise<LoadOutcome[]> {
      running = false
      await Promise.all(loops)
      agent.destroy()
      return outcomes
    },
  }
}
