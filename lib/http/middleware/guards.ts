import type { RequestHandler } from 'express';
import { InsufficientScopeError, MissingTokenError } from '../../errors.js';
import type { Principal } from '../../verify/principal.js';

/**
 * A route guard: lets the request through when `allowed(req.user)` holds, else 403
 * (`insufficient_scope`) — or 401 when the request was never authenticated (the guard was
 * mounted without `gate.authenticate` in front of it).
 *
 * @example router.post('/pipelines', requirePrincipal((p) => p.isBot, 'Only bots may deploy pipelines.'))
 */
export function requirePrincipal(
  allowed: (principal: Principal) => boolean,
  denial: string,
  realm = 'jwt-gate',
): RequestHandler {
  return function jwtGateGuard(req, _res, next) {
    const principal = req.user;
    if (principal === undefined) next(new MissingTokenError().setRealm(realm));
    else if (!allowed(principal)) next(new InsufficientScopeError(denial).setRealm(realm));
    else next();
  };
}

/** Admins only: a person listed in `adminPrincipals`. Bot tokens never pass, whatever their name. */
export function requireAdmin(realm?: string): RequestHandler {
  return requirePrincipal((p) => p.isAdmin && !p.isBot, 'This operation is for admins only.', realm);
}

/**
 * Requires claims with exactly these values (arrays: the claim must contain the value), e.g.
 * `requireClaims({ groups: 'data-stewards' })`.
 */
export function requireClaims(
  required: Readonly<Record<string, string | number | boolean>>,
  realm?: string,
): RequestHandler {
  const entries = Object.entries(required);
  return requirePrincipal(
    (p) =>
      entries.every(([name, value]) => {
        const claim = Object.hasOwn(p.claims, name) ? p.claims[name] : undefined;
        return Array.isArray(claim) ? claim.includes(value) : claim === value;
      }),
    `This operation requires the claims ${entries.map(([n]) => n).join(', ')}.`,
    realm,
  );
}
