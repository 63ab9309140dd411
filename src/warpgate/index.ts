// The connector's public face: what `mezu tunnel` (src/commands) may use of src/warpgate.
export {describeEvent} from './describe.js'
export {runTunnel, type RunTunnelOptions} from './run.js'
export {resolveTarget as resolveServiceTarget} from './service-config.js'
export type {WarpgateEvent} from './warpgate.js'
