import { InvalidTokenError } from '../errors.js';

/**
 * RFC 6749 §3.3 scope-token: one or more of %x21 / %x23-5B / %x5D-7E (printable ASCII without
 * space, `"` and `\`).
 */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Why `scope` is not an RFC 6749 scope-token, or `undefined` when it is one. */
export function scopeTokenProblem(scope: string): string | undefined {
  if (scope === '') return 'a scope must not be empty';
  if (SCOPE_TOKEN.test(scope)) return undefined;
  return /\s/.test(scope)
    ? `"${scope}" holds a space: list each scope as its own entry`
    : `"${scope}" holds a character a scope may not have (only printable ASCII without space, " and \\)`;
}

/**
 * How one key source's tokens get their scopes: which claim is read, and what a token without it
 * gets. Built once per source at start-up.
 */
export interface ScopeRule {
  /** The claim read (`scope`: space-separated string, `scp`: array); `null`: `scope`, then `scp`. */
  readonly claim: string | null;
  /** Scopes of a token without the claim (e.g. an ID token); frozen, shared by every such principal. */
  readonly defaults: readonly string[];
}

export const NO_SCOPES: readonly string[] = Object.freeze([]);

/** `scope`, then `scp`; no scopes without them. */
export const DEFAULT_SCOPE_RULE: ScopeRule = Object.freeze({ claim: null, defaults: NO_SCOPES });

export function createScopeRule(claim: string | null | undefined, defaults: readonly string[]): ScopeRule {
  return Object.freeze({
    claim: claim ?? null,
    defaults: defaults.length === 0 ? NO_SCOPES : Object.freeze([...new Set(defaults)]),
  });
}

/**
 * The scopes a token's claims grant under `rule` (RFC 9068 §2.2.3, RFC 8693 §4.2): a `scope`
 * string split on spaces, or a `scp` array of strings — either shape from either claim, since
 * Azure AD sends `scp` as a space-separated string. A present claim decides, also when it is
 * empty (no scopes, never the defaults); `undefined` when the token has no scope claim at all.
 * A claim of the wrong shape is a 401: silently granting nothing would hide an IdP misconfiguration.
 */
export function readScopeClaim(
  claims: Readonly<Record<string, unknown>>,
  rule: ScopeRule,
): readonly string[] | undefined {
  const name = rule.claim ?? (Object.hasOwn(claims, 'scope') ? 'scope' : 'scp');
  if (!Object.hasOwn(claims, name)) return undefined;
  const value = claims[name];
  if (typeof value === 'string') {
    if (value === '') return NO_SCOPES;
    const scopes = value.split(' ').filter((s) => s !== '');
    if (scopes.every((s) => SCOPE_TOKEN.test(s))) return Object.freeze(scopes);
  } else if (Array.isArray(value)) {
    if (value.length === 0) return NO_SCOPES;
    if (value.every((s): s is string => typeof s === 'string' && SCOPE_TOKEN.test(s)))
      return Object.freeze([...value]);
  }
  throw new InvalidTokenError(
    'ERR_TOKEN_CLAIM_INVALID',
    `The token's "${name}" claim is not valid: it must be a space-separated string of scopes or an array of scope strings.`,
  );
}

/** The token's scopes: its claim when present, else the rule's defaults. */
export function resolveScopes(claims: Readonly<Record<string, unknown>>, rule: ScopeRule): readonly string[] {
  return readScopeClaim(claims, rule) ?? rule.defaults;
}

/**
 * A bot token's scopes: its claim within the bot's allowed scopes now (an admin who narrows them
 * narrows live tokens too), or — for a token minted before scopes existed, without the claim —
 * all of them. `allowed` `undefined` (no registry to ask): the claim alone.
 */
export function resolveBotScopes(
  claims: Readonly<Record<string, unknown>>,
  rule: ScopeRule,
  allowed: readonly string[] | undefined,
): readonly string[] {
  const claimed = readScopeClaim(claims, rule);
  if (allowed === undefined) return claimed ?? NO_SCOPES;
  if (claimed === undefined) return allowed;
  return claimed.every((s) => allowed.includes(s))
    ? claimed
    : Object.freeze(claimed.filter((s) => allowed.includes(s)));
}
