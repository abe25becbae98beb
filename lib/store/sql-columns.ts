import type { BotRecord, BotTokenRecord } from './types.js';

/**
 * SELECT lists shared by the SQL stores: columns are snake_case, records camelCase. Aliases are
 * quoted so PostgreSQL keeps their case. Scope lists are stored as one space-separated text
 * (scope-tokens hold no space, RFC 6749 §3.3): `allowed_scopes` `''` is none; a token's `scopes`
 * is `NULL` when it was minted before scopes existed.
 */
export const BOT_COLUMNS =
  'name, display_name AS "displayName", description, created_at AS "createdAt", created_by AS "createdBy", ' +
  'allowed_scopes AS "allowedScopes"';

export const TOKEN_COLUMNS =
  'bot_name AS "botName", jti, token_hash AS "tokenHash", last4, expiry, issued_at AS "issuedAt", ' +
  'expires_at AS "expiresAt", issued_by AS "issuedBy", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", ' +
  'scopes';

/** The columns a new bot row is written with, in the order of {@link botInsertValues}. */
export const BOT_INSERT_COLUMNS = 'name, display_name, description, created_at, created_by, allowed_scopes';

export function botInsertValues(bot: BotRecord): unknown[] {
  return [
    bot.name,
    bot.displayName,
    bot.description,
    bot.createdAt,
    bot.createdBy,
    scopesColumn(bot.allowedScopes),
  ];
}

/** The columns a new token row is written with, in the order of {@link tokenInsertValues}. */
export const TOKEN_INSERT_COLUMNS =
  'bot_name, jti, token_hash, last4, expiry, issued_at, expires_at, issued_by, last_used_at, revoked_at, scopes';

/** The values of a new (not revoked) token row, in the order of {@link TOKEN_INSERT_COLUMNS}. */
export function tokenInsertValues(token: BotTokenRecord): unknown[] {
  return [
    token.botName,
    token.jti,
    token.tokenHash,
    token.last4,
    token.expiry,
    token.issuedAt,
    token.expiresAt,
    token.issuedBy,
    token.lastUsedAt,
    null,
    token.scopes === null ? null : scopesColumn(token.scopes),
  ];
}

/** A scope list as stored. */
export function scopesColumn(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/** A bot row (selected with {@link BOT_COLUMNS}) as a record. */
export function botFromRow(row: Omit<BotRecord, 'allowedScopes'> & { allowedScopes: string }): BotRecord {
  return { ...row, allowedScopes: splitScopes(row.allowedScopes) };
}

/** A token row (selected with {@link TOKEN_COLUMNS}) as a record. */
export function tokenFromRow(
  row: Omit<BotTokenRecord, 'scopes'> & { scopes: string | null },
): BotTokenRecord {
  return { ...row, scopes: row.scopes === null ? null : splitScopes(row.scopes) };
}

function splitScopes(column: string): string[] {
  return column === '' ? [] : column.split(' ');
}

export const AUDIT_COLUMNS = 'id, at, actor, action, bot_name AS "botName", jti, detail';
