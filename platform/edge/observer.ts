/**
 * What the edge reports for metrics (platform/metrics implements it). Every label it passes is
 * bounded: a route id, a status, a fixed scope or policy reason; never a path, user or address.
 */
export interface EdgeObserver {
  /** one finished end-user request; `route` is a route id, ROUTE_NONE or ROUTE_AUTH */
  request(route: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void
  /** a request refused by a per-address rate limit: `route` (a route's limit) or `auth` (the login host) */
  rateLimited(scope: 'route' | 'auth'): void
  /** a policy said no (its first reason, e.g. user-unauthenticated, email-denied) */
  denied(routeId: string, reason: string): void
}

/** The `route` label of requests no route matched. */
export const ROUTE_NONE = 'none'
/** The `route` label of requests to the login host, auth.<domain>. */
export const ROUTE_AUTH = 'auth'
