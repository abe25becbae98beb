import { conflict } from '../errors.js';
import type { ApiError } from '../errors.js';
import type { ListAuditOptions, StoreChange } from './types.js';

/** Default and ceiling of `listAudit`'s `limit`. */
export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

/** `opts.limit` clamped to 1…MAX_AUDIT_LIMIT (default DEFAULT_AUDIT_LIMIT). */
export function auditLimit(opts: ListAuditOptions | undefined): number {
  const limit = opts?.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isFinite(limit)) return DEFAULT_AUDIT_LIMIT;
  return Math.min(MAX_AUDIT_LIMIT, Math.max(1, Math.trunc(limit)));
}

/** One entry per `jti`, with its latest `at`: a batch may see the same token many times. */
export function latestUses(uses: ReadonlyArray<{ jti: string; at: number }>): Map<string, number> {
  const latest = new Map<string, number>();
  for (const { jti, at } of uses) {
    const seen = latest.get(jti);
    if (seen === undefined || at > seen) latest.set(jti, at);
  }
  return latest;
}

/** The audit detail written when a bot's token is replaced by a new one. */
export const REPLACED_DETAIL = 'replaced by a new token';
/** The audit detail written when a token is revoked because its bot is deleted. */
export const BOT_DELETED_DETAIL = 'bot deleted';

/** The audit detail of an allowed-scopes change or a bot's creation: `allowedScopes a b`, or `null` for none. */
export function scopesDetail(allowedScopes: readonly string[]): string | null {
  return allowedScopes.length === 0 ? null : `allowedScopes ${allowedScopes.join(' ')}`;
}

/**
 * The audit detail of a token issue (bot or personal): `expiry 7`, its scopes when it has any, and
 * the key it is bound to when it is DPoP-bound: `expiry 7, scopes a b, bound to key <jkt>`.
 */
export function issueDetail(token: {
  expiry: string;
  scopes: readonly string[] | null;
  dpopJkt?: string | null;
}): string {
  let detail = `expiry ${token.expiry}`;
  if (token.scopes !== null && token.scopes.length > 0) detail += `, scopes ${token.scopes.join(' ')}`;
  if (token.dpopJkt != null) detail += `, bound to key ${token.dpopJkt}`;
  return detail;
}

/** The audit detail of a `setRequireDpop`. */
export function requireDpopDetail(requireDpop: boolean): string {
  return `requireDpop ${requireDpop}`;
}

/** The 409 of an `issuePersonalToken` that would pass the person's limit. */
export function personalTokenLimitReached(limit: number): ApiError {
  return conflict(
    `You already hold ${limit} live personal access ${limit === 1 ? 'token' : 'tokens'}, the most allowed; revoke one first.`,
  );
}

/**
 * How the SQL stores' change logs name a change in one text column (the SQLite `changes.bot_name`):
 * a bot by its name, a person as `user:<name>`. Bot names match `^[a-z0-9][a-z0-9._-]{0,63}$` or
 * are `*` (ALL_BOTS), so they never hold a `:` and the two cannot collide.
 */
const USER_CHANGE_PREFIX = 'user:';

export function changeKey(change: StoreChange): string {
  return change.userName === undefined ? change.botName : `${USER_CHANGE_PREFIX}${change.userName}`;
}

export function changeFromKey(key: string): StoreChange {
  return key.startsWith(USER_CHANGE_PREFIX)
    ? { userName: key.slice(USER_CHANGE_PREFIX.length) }
    : { botName: key };
}

/**
 * Shortest time between two prunes of expired DPoP proofs, ms: a prune is one indexed DELETE, done
 * at most this often rather than on every claim.
 */
export const DPOP_PRUNE_INTERVAL_MS = 1000;
