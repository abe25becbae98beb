import express, { type Request, type RequestHandler, type Router } from 'express';
import { assertPerson, type PersonalTokenService } from '../../bots/personal-token-service.js';
import { ApiError, badRequest } from '../../errors.js';
import { asciiLower } from '../../verify/resolve-principal.js';
import { createErrorHandler } from '../middleware/error-handler.js';
import { requirePrincipal } from '../middleware/guards.js';
import {
  actorOf,
  bodyOf,
  jsonBody,
  methodNotAllowed,
  noStore,
  route,
  securityHeaders,
} from '../router-helpers.js';

export interface PersonalTokensRouterOptions {
  /** `WWW-Authenticate` realm of the 401 answers. Default `jwt-gate`. */
  realm?: string;
}

/**
 * Personal access tokens (docs/bots.md#personal-access-tokens), for every signed-in person — on
 * their own tokens; an admin on anyone's with `?username=`. Bots get 400. The reference's paths:
 *
 * - `PUT /api/v1/users/security/token` `{"tokenName", "JWTTokenExpiry", "scopes"?}` → the token, shown this once
 * - `GET /api/v1/users/security/token[?username=]` → `{data: [...], paging: {total}}`, never the tokens
 * - `PUT /api/v1/users/security/token/revoke[?username=&removeAll=true]` `{"tokenIds": [...]}`
 *
 * Mount it after `gate.authenticate`; without it every route answers 401.
 */
export function createPersonalTokensRouter(
  tokens: PersonalTokenService,
  options: PersonalTokensRouterOptions = {},
): Router {
  const guard: RequestHandler[] = [
    securityHeaders,
    noStore,
    requirePrincipal(() => true, 'Sign in to manage personal access tokens.', options.realm),
  ];
  const json = jsonBody();
  const router = express.Router({ caseSensitive: true, strict: true });
  router
    .route('/api/v1/users/security/token')
    .put(
      guard,
      json,
      route(async (req, res) => {
        res.json(await tokens.generate(req.user!, bodyOf(req), actorOf(req)));
      }),
    )
    .get(
      guard,
      route(async (req, res) => {
        const data = await tokens.list(whose(req));
        res.json({ data, paging: { total: data.length } });
      }),
    )
    .all(guard, methodNotAllowed('GET, HEAD, PUT'));
  router
    .route('/api/v1/users/security/token/revoke')
    .put(
      guard,
      json,
      route(async (req, res) => {
        const userName = whose(req);
        const removeAll = flag(req.query.removeAll, 'removeAll');
        const ids = removeAll ? 'all' : bodyOf(req).tokenIds;
        res.json(await tokens.revoke(userName, ids, actorOf(req)));
      }),
    )
    .all(guard, methodNotAllowed('PUT'));
  router.use(createErrorHandler());
  return router;
}

/**
 * Whose tokens the request is about: the signed-in person's, or — for an admin — the person
 * `?username=` names. Anyone else asking for another person's tokens gets 403.
 */
function whose(req: Request): string {
  const principal = req.user!;
  assertPerson(principal);
  const query = req.query.username;
  if (query === undefined) return principal.name;
  if (typeof query !== 'string' || query === '' || query.length > 256)
    throw badRequest('username must be one principal name.');
  // Principal names are lower-cased in ASCII, so `?username=Alice` is alice.
  const asked = asciiLower(query);
  if (asked === principal.name) return asked;
  if (!principal.isAdmin) {
    throw new ApiError(403, 'ERR_FORBIDDEN', "Only admins may see or revoke another person's tokens.");
  }
  return asked;
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw badRequest(`${name} must be true or false.`);
}
