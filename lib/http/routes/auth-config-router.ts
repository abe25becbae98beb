import type { Router } from 'express';
import type { AuthenticationConfiguration } from '../../config/types.js';
import { type PublicRoute, publicRouter } from './public-routes.js';

export const AUTH_CONFIG_PATH = '/api/v1/system/config/auth';

export interface AuthConfigOptions {
  /**
   * The DPoP proof algorithms accepted (`dpopConfiguration.algorithms`): when given, the document
   * adds `dpopSigningAlgValuesSupported` and `dpopBoundAccessTokensRequired: false` (RFC 9449
   * §5.1's metadata, in this document's camelCase). The gate always gives them.
   */
  dpopAlgorithms?: readonly string[];
}

/**
 * Public SSO settings a UI needs to start a login: provider, providerName, authority, clientId,
 * callbackUrl and jwtPrincipalClaims, and the DPoP support when `dpopAlgorithms` is given.
 * Nothing else (no key paths, no admin list).
 */
export function createAuthConfigRouter(
  auth: AuthenticationConfiguration,
  options: AuthConfigOptions = {},
): Router {
  return publicRouter(authConfigRoute(auth, options));
}

/** The public auth config as a public route (see `createAuthConfigRouter`). */
export function authConfigRoute(
  auth: AuthenticationConfiguration,
  options: AuthConfigOptions = {},
): PublicRoute {
  const body = JSON.stringify({
    provider: auth.provider,
    providerName: auth.providerName,
    authority: auth.authority,
    clientId: auth.clientId,
    callbackUrl: auth.callbackUrl,
    jwtPrincipalClaims: auth.jwtPrincipalClaims,
    ...(options.dpopAlgorithms === undefined
      ? {}
      : { dpopSigningAlgValuesSupported: [...options.dpopAlgorithms], dpopBoundAccessTokensRequired: false }),
  });
  return {
    paths: [AUTH_CONFIG_PATH],
    handle: function serveAuthConfig(_req, res) {
      res.setHeader('Cache-Control', 'no-cache');
      res.type('application/json').send(body);
    },
  };
}
