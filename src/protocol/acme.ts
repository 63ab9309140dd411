/** ALPN id of an ACME TLS-ALPN-01 validation (RFC 8737): the CA offers only this. */
export const ACME_TLS_ALPN = 'acme-tls/1'

/** Path prefix of HTTP-01 challenge responses (RFC 8555 §8.3); the token follows. */
export const ACME_HTTP_CHALLENGE_PREFIX = '/.well-known/acme-challenge/'
