// The request and response types of /v1, shared by the CLI and the control plane.
export * from './common.js'
export * from './projects.js'
export * from './auth.js'
export * from './audit.js'
export * from './users.js'
export * from './routes.js'
export * from './logs.js'
