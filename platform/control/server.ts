import Fastify, {LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance} from 'fastify'
import {authenticate} from './auth.js'
import type {ControlContext} from './context.js'
import {storeUnavailable, uniqueViolation} from '../store/db.js'
import {ApiError} from './errors.js'
import {routeModules} from './routes/index.js'

/** Builds the control-plane API: HTTPS with TLS 1.3 only, JSON, one error shape. */
export async function buildControlServer(ctx: ControlContext, tls: {key: string; cert: string}): Promise<FastifyInstance> {
  const app = Fastify({
    // Edge nodes present their enrolment certificate on the edge channel; nobody else needs one, so
    // a missing or foreign certificate is not refused here (the channel checks `authorized`).
    https: {key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', ca: [ctx.ca.certPem], requestCert: true, rejectUnauthorized: false},
    bodyLimit: ctx.config.apiBodyLimitBytes,
    loggerInstance: ctx.log as unknown as FastifyBaseLogger,
    logController: new LogController({disableRequestLogging: true}),
    // Unknown fields are refused (not stripped) and types are never coerced: a request that does
    // not fit the schema is a 400 naming the field.
    ajv: {customOptions: {removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false}},
    return503OnClosing: true,
  })

  // The API speaks JSON only: fastify's default text/plain parser would let a text body reach
  // the schema as a string, where it must be refused as 415.
  app.removeContentTypeParser('text/plain')

  app.addHook('onRequest', async (req) => {
    const routeConfig = req.routeOptions.config as {public?: boolean} | undefined
    if (routeConfig?.public || !req.url.startsWith('/v1/')) return
    req.principal = await authenticate(ctx, req)
  })

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const api = toApiError(err)
    if (api.status >= 500 && api.code !== 'store_unavailable') req.log.error({err}, 'request failed')
    else if (api.code === 'store_unavailable') req.log.warn({err: {message: err.message, code: (err as {code?: string}).code}}, 'store unavailable')
    for (const [k, v] of Object.entries(api.headers)) reply.header(k, v)
    if (api.code === 'unauthenticated' || api.code === 'token_expired' || api.code === 'token_revoked') {
      reply.header('www-authenticate', `Bearer realm="mezu", error="invalid_token"`)
    }
    reply.code(api.status).send(api.toBody())
  })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError('not_found', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`).toBody())
  })

  const metrics = ctx.metrics
  if (metrics) {
    // the route pattern (/v1/projects/:project), never the path: a bounded label
    app.addHook('onResponse', async (req, reply) => metrics.apiRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000))
  }

  // alive: answers as long as the process serves HTTP, and looks at nothing else
  app.get('/healthz', {config: {public: true}}, async () => ({ok: true}))
  // ready: stores writable, edge and tunnel listening, change feed current; 503 names what fails
  app.get('/readyz', {config: {public: true}}, async (_req, reply) => {
    const report = (await ctx.readiness?.()) ?? {ready: false, failing: ['starting'], checks: {starting: {ok: false, message: 'the platform is still starting'}}}
    reply.code(report.ready ? 200 : 503)
    return report
  })
  for (const register of routeModules) register(app, ctx)
  return app
}

function toApiError(err: FastifyError | ApiError): ApiError {
  if (err instanceof ApiError) return err
  if (err instanceof RangeError && /cursor/.test(err.message)) return new ApiError('invalid_request', err.message, 'cursor')
  const fe = err as FastifyError & {validationContext?: string}
  if (fe.validation) {
    const v = fe.validation[0]
    const where = fe.validationContext === 'querystring' ? 'query' : fe.validationContext ?? 'body'
    const params = v.params as Record<string, unknown>
    let path = v.instancePath.replace(/^\//, '').replaceAll('/', '.')
    if (params.additionalProperty) path = [path, String(params.additionalProperty)].filter(Boolean).join('.')
    if (params.missingProperty) path = [path, String(params.missingProperty)].filter(Boolean).join('.')
    const message = params.additionalProperty
      ? `${where}: unknown field "${path}"`
      : `${where}${path ? ` field "${path}"` : ''} ${v.message ?? 'is invalid'}`
    return new ApiError('invalid_request', message, path || undefined)
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', 'the request body is too large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'send the body as application/json')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_request', 'the JSON body is empty')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('invalid_request', 'the body is not valid JSON')
  }
  // names are checked before writing; a concurrent writer can still take one first
  if (uniqueViolation(err)) return new ApiError('conflict', 'that name was taken by a change made at the same time; the request changed nothing')
  if (storeUnavailable(err)) return new ApiError('store_unavailable', 'the platform\'s database cannot be reached right now; retry shortly', undefined, {'retry-after': '2'})
  if (fe.statusCode === 400 && /JSON/i.test(fe.message)) return new ApiError('invalid_request', `the body is not valid JSON: ${fe.message}`)
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return new ApiError('invalid_request', fe.message)
  return new ApiError('internal', 'internal error')
}
