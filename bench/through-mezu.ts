import type {Endpoint} from './load.js'

/** What the benchmark reaches through Mezusphere, and the processes whose memory it reports. */
export interface MezuTarget extends Endpoint {
  /** e.g. {edge: pid, warpgate: pid}; measured idle right after start and at peak at the end */
  processes: Record<string, number>
  stop(): Promise<void>
}

/**
 * Starts the platform (edge) and a Warpgate publishing `origin` on a public route, and returns
 * the public URL (https://<route host>:<edge port>), the platform CA, and the processes' pids.
 * Run both as child processes (`node bin/run.js platform start …`, `node bin/run.js tunnel
 * <origin.url> --route bench.mezu.localhost …`) so their CPU and memory are not the load
 * generator's. The route must be public (no login), and nothing may log per request.
 *
 * LEAD: fill this in once `mezu tunnel` exists; bench.ts prints "not wired" while it is undefined.
 */
export const startThroughMezu: ((origin: {url: string; port: number; workDir: string}) => Promise<MezuTarget>) | undefined = undefined
