import type { Router } from 'express';
import type { AuthenticationConfiguration } from '../../config/types.js';
import { type PublicRoute, publicRouter } from './public-routes.js';

export const AUTH_CONFIG_PATH = '/api/v1/system/config/auth';

/**
 * Public SSO settings a UI needs to start a login: provider, providerName, authority, clientId,
 * callbackUrl and jwtPrincipalClaims. Nothing else (no key paths, no admin list).
 */
export function createAuthConfigRouter(auth: AuthenticationConfiguration): Router {
  return publicRouter(authConfigRoute(auth));
}

/** The public auth config as a public route (see `createAuthConfigRouter`). */
export function authConfigRoute(auth: AuthenticationConfiguration): PublicRoute {
  const body = JSON.stringify({
    provider: auth.provider,
    providerName: auth.providerName,
    authority: auth.authority,
    clientId: auth.clientId,
    callbackUrl: auth.callbackUrl,
    jwtPrincipalClaims: auth.jwtPrincipalClaims,
  });
  return {
    paths: [AUTH_CONFIG_PATH],
    handle: function serveAuthConfig(_req, res) {
      res.setHeader('Cache-Control', 'no-cache');
      res.type('application/json').send(body);
    },
  };
}
