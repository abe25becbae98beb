import type { Router } from 'express';
import { JWKS_PATHS } from '../../keys/jwks-paths.js';
import type { KeySet } from '../../keys/key-set.js';
import { publicJwk } from '../../keys/public-jwk.js';
import { type PublicRoute, publicRouter, serveStaticJson } from './public-routes.js';

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
  const jwks = { keys: keySet === null ? [] : keySet.published.map(publicJwk) };
  return { paths: JWKS_PATHS, handle: serveStaticJson('serveJwks', jwks, options.maxAgeSeconds ?? 300) };
}
