import { createHash } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { JWKS_PATHS } from '../../keys/jwks-paths.js';
import type { KeySet } from '../../keys/key-set.js';
import { publicJwk } from '../../keys/public-jwk.js';
import { type PublicRoute, publicRouter } from './public-routes.js';

export interface JwksRouterOptions {
  /** `Cache-Control: public, max-age=…` for consumers, seconds. Default 300. */
  maxAgeSeconds?: number;
}

/**
 * The server's own JWKS (RFC 7517), public: every published key (the active one and those kept
 * for rotation) with `kty`, `kid`, `use: "sig"`, `alg`, `n`, `e` — never a private member.
 * The body is built once; requests only write it.
 */
export function createJwksRouter(keySet: KeySet, options: JwksRouterOptions = {}): Router {
  return publicRouter(jwksRoute(keySet, options));
}

/** The JWKS as a public route (see `createJwksRouter`). */
export function jwksRoute(keySet: KeySet | null, options: JwksRouterOptions = {}): PublicRoute {
  // Without keys (a gate that verifies SSO tokens only) the set is empty, and still valid JSON.
  const body = JSON.stringify({ keys: keySet === null ? [] : keySet.published.map(publicJwk) });
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const cacheControl = `public, max-age=${options.maxAgeSeconds ?? 300}`;

  const serveJwks: RequestHandler = function serveJwks(req, res) {
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', etag);
    res.type('application/json');
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.send(body);
  };

  return { paths: JWKS_PATHS, handle: serveJwks };
}
