/** Prefix of every header the edge owns; end users' request headers and origins' response headers with it are always stripped. */
export const IDENTITY_HEADER_PREFIX = 'mezu-'
/** The platform user id of the caller, added by the edge. */
export const HEADER_USER_ID = 'Mezu-User-Id'
/** The email (or service-account name) of the caller, added by the edge. */
export const HEADER_USER_EMAIL = 'Mezu-User-Email'
/** EdDSA JWT asserting the caller's identity to the origin, signed by the platform. */
export const HEADER_JWT_ASSERTION = 'Mezu-Jwt-Assertion'
/** A service-account API key presented to the edge by machine clients. */
export const HEADER_SERVICE_TOKEN = 'Mezu-Service-Token'
/** Request id the edge assigns, echoed to the origin and to the client. */
export const HEADER_REQUEST_ID = 'Mezu-Request-Id'
/** Set by the edge on every error page it produces itself, so clients can tell it from the origin's. */
export const HEADER_EDGE_ERROR = 'Mezu-Edge-Error'
/** The edge's browser session cookie on a route host (host-only: the __Host- prefix forbids Domain). */
export const SESSION_COOKIE = '__Host-mezu_session'
/** The pre-session cookie the login form's CSRF token is bound to. */
export const CSRF_COOKIE = '__Host-mezu_csrf'
/** The cookies the edge sets itself: an origin's Set-Cookie naming one never reaches the end user. */
export const EDGE_COOKIES: ReadonlySet<string> = new Set([SESSION_COOKIE, CSRF_COOKIE])
/** The path under every route host that the edge itself answers (callback, logout). */
export const EDGE_PATH_PREFIX = '/.mezu/'
