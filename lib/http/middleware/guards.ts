import type { RequestHandler } from 'express';
import { ConfigError, InsufficientScopeError, MissingTokenError } from '../../errors.js';
import type { Principal } from '../../verify/principal.js';
import { scopeTokenProblem } from '../../verify/scopes.js';

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

/** Options of {@link requireScopes} / {@link requireAnyScope} in their array form. */
export interface ScopeGuardOptions {
  /** `WWW-Authenticate` realm; use the gate's `verificationConfiguration.realm`. Default `jwt-gate`. */
  realm?: string;
}

/**
 * Requires every one of these scopes on the token (`principal.scopes`); else 403 with
 * `WWW-Authenticate: Bearer …, error="insufficient_scope", scope="<the scopes>"` (RFC 6750 §3.1)
 * and `errorCode: 'ERR_INSUFFICIENT_SCOPE'`; 401 without authentication.
 *
 * @example router.post('/tables', requireScopes('tables:write'), createTable)
 * @example requireScopes(['tables:read', 'tables:write'], { realm: gate.config.verificationConfiguration.realm })
 */
export function requireScopes(...scopes: string[]): RequestHandler;
export function requireScopes(scopes: readonly string[], options?: ScopeGuardOptions): RequestHandler;
export function requireScopes(...args: unknown[]): RequestHandler {
  return scopeGuard('requireScopes', 'all', args);
}

/**
 * Requires at least one of these scopes on the token; else 403 `insufficient_scope` naming them
 * all in `scope="…"`; 401 without authentication.
 *
 * @example router.get('/tables', requireAnyScope('tables:read', 'tables:admin'), listTables)
 */
export function requireAnyScope(...scopes: string[]): RequestHandler;
export function requireAnyScope(scopes: readonly string[], options?: ScopeGuardOptions): RequestHandler;
export function requireAnyScope(...args: unknown[]): RequestHandler {
  return scopeGuard('requireAnyScope', 'any', args);
}

/** Validates and precomputes at creation; the returned guard only compares strings. */
function scopeGuard(name: string, mode: 'all' | 'any', args: unknown[]): RequestHandler {
  const example = `${name}('tables:read')`;
  let list: unknown[];
  let realm = 'jwt-gate';
  if (Array.isArray(args[0])) {
    if (args.length > 2) throw new ConfigError(`${name}([scopes], options): pass the scopes in one array.`);
    list = args[0] as unknown[];
    const options = args[1] as ScopeGuardOptions | undefined;
    if (options?.realm !== undefined) realm = options.realm;
  } else {
    list = args;
  }
  if (list.length === 0) {
    throw new ConfigError(`${name}() needs at least one scope, e.g. ${example}.`);
  }
  for (const scope of list) {
    if (typeof scope !== 'string') {
      throw new ConfigError(
        `${name} takes scope names: write app.get(path, ${example}, handler), not ${name} without arguments or with ${typeof scope} arguments.`,
      );
    }
    const problem = scopeTokenProblem(scope);
    if (problem !== undefined) {
      throw new ConfigError(`${name}(): ${problem}; e.g. ${name}('tables:read', 'tables:write').`);
    }
  }
  const required: readonly string[] = Object.freeze([...new Set(list as string[])]);
  const scope = required.join(' ');
  const denial =
    mode === 'all' || required.length === 1
      ? `This operation requires the scope${required.length === 1 ? '' : 's'} ${required.join(', ')}.`
      : `This operation requires one of the scopes ${required.join(', ')}.`;
  const allowed = mode === 'all' ? hasAll : hasAny;

  return function jwtGateScopeGuard(req, _res, next) {
    const principal = req.user;
    if (principal === undefined) next(new MissingTokenError().setRealm(realm));
    else if (!allowed(principal.scopes, required))
      next(new InsufficientScopeError(denial, 'ERR_INSUFFICIENT_SCOPE', scope).setRealm(realm));
    else next();
  };
}

function hasAll(granted: readonly string[], required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (!granted.includes(required[i]!)) return false;
  return true;
}

function hasAny(granted: readonly string[], required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (granted.includes(required[i]!)) return true;
  return false;
}
