import express, { type Router } from 'express';
import type { AuthenticationConfiguration } from '../config/types.js';
import { methodNotAllowed, securityHeaders } from './router-helpers.js';

export const AUTH_CONFIG_PATH = '/api/v1/system/config/auth';

/**
 * Public SSO settings a UI needs to start a login: provider, providerName, authority, clientId,
 * callbackUrl and jwtPrincipalClaims. Nothing else (no key paths, no admin list).
 */
export function createAuthConfigRouter(auth: AuthenticationConfiguration): Router {
  const body = JSON.stringify({
    provider: auth.provider,
    providerName: auth.providerName,
    authority: auth.authority,
    clientId: auth.clientId,
    callbackUrl: auth.callbackUrl,
    jwtPrincipalClaims: auth.jwtPrincipalClaims,
  });
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get(AUTH_CONFIG_PATH, securityHeaders, function serveAuthConfig(_req, res) {
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(body);
  });
  router.all(AUTH_CONFIG_PATH, securityHeaders, methodNotAllowed('GET, HEAD'));
  return router;
}
