import type {FastifyInstance} from 'fastify'
import type {PlatformCa} from '../../../src/lib/api-types/index.js'
import type {ControlContext} from '../context.js'

export function registerCaRoutes(app: FastifyInstance, ctx: ControlContext): void {
  // Public: the CA certificate is no secret. A new edge fetches it before it trusts anything (over a
  // connection it cannot verify yet) and keeps it only if it matches its join token's pin.
  app.get('/v1/ca', {config: {public: true}}, async (): Promise<PlatformCa> => ({caPem: ctx.ca.certPem}))
}
