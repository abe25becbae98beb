import type { BotTokenRecord, ListAuditOptions } from './types.js';

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

/** The audit detail of a token issue: `expiry 7`, and its scopes when it has any. */
export function issueDetail(token: BotTokenRecord): string {
  return token.scopes === null || token.scopes.length === 0
    ? `expiry ${token.expiry}`
    : `expiry ${token.expiry}, scopes ${token.scopes.join(' ')}`;
}
