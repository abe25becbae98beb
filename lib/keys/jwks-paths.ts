/**
 * Both paths the reference serves its JWKS at (relative to where the routes are mounted): the
 * JWKS route answers them, and a `publicKeyUrls` entry naming one of them on this server is read
 * as our own keys, never fetched over HTTP.
 */
export const JWKS_PATHS = ['/api/v1/config/jwks', '/api/v1/system/config/jwks'] as const;
