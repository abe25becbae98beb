import type { BotRecord, BotTokenRecord, PersonalTokenRecord } from './types.js';

/**
 * SELECT lists shared by the SQL stores: columns are snake_case, records camelCase. Aliases are
 * quoted so PostgreSQL keeps their case. Scope lists are stored as one space-separated text
 * (scope-tokens hold no space, RFC 6749 §3.3): `allowed_scopes` `''` is none; a bot token's `scopes`
 * is `NULL` when it was minted before scopes existed. `require_dpop` is an SQLite integer (0/1) and
 * a PostgreSQL boolean; both are written as 0/1, which PostgreSQL's boolean input accepts.
 */
export const BOT_COLUMNS =
  'name, display_name AS "displayName", description, created_at AS "createdAt", created_by AS "createdBy", ' +
  'allowed_scopes AS "allowedScopes", require_dpop AS "requireDpop"';

export const TOKEN_COLUMNS =
  'bot_name AS "botName", jti, token_hash AS "tokenHash", last4, expiry, issued_at AS "issuedAt", ' +
  'expires_at AS "expiresAt", issued_by AS "issuedBy", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt", ' +
  'scopes, dpop_jkt AS "dpopJkt"';

export const PERSONAL_TOKEN_COLUMNS =
  'jti, user_name AS "userName", token_name AS "tokenName", token_hash AS "tokenHash", last4, expiry, ' +
  'issued_at AS "issuedAt", expires_at AS "expiresAt", issued_by AS "issuedBy", last_used_at AS "lastUsedAt", ' +
  'revoked_at AS "revokedAt", scopes';

/** The few columns of a `LivePersonalToken` (rows are records as they are): loaded at every start. */
export const LIVE_PERSONAL_TOKEN_COLUMNS = 'jti, user_name AS "userName"';

export const AUDIT_COLUMNS =
  'id, at, actor, action, bot_name AS "botName", user_name AS "userName", jti, detail';

/** The columns a new bot row is written with, in the order of {@link botInsertValues}. */
export const BOT_INSERT_COLUMNS =
  'name, display_name, description, created_at, created_by, allowed_scopes, require_dpop';

export function botInsertValues(bot: BotRecord): unknown[] {
  return [
    bot.name,
    bot.displayName,
    bot.description,
    bot.createdAt,
    bot.createdBy,
    scopesColumn(bot.allowedScopes),
    flagColumn(bot.requireDpop),
  ];
}

/** The columns a new token row is written with, in the order of {@link tokenInsertValues}. */
export const TOKEN_INSERT_COLUMNS =
  'bot_name, jti, token_hash, last4, expiry, issued_at, expires_at, issued_by, last_used_at, revoked_at, scopes, dpop_jkt';

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
    token.dpopJkt ?? null,
  ];
}

/** The columns a new personal token row is written with, in the order of {@link personalTokenInsertValues}. */
export const PERSONAL_TOKEN_INSERT_COLUMNS =
  'jti, user_name, token_name, token_hash, last4, expiry, issued_at, expires_at, issued_by, last_used_at, revoked_at, scopes';

/** The values of a new (not revoked) personal token row. */
export function personalTokenInsertValues(token: PersonalTokenRecord): unknown[] {
  return [
    token.jti,
    token.userName,
    token.tokenName,
    token.tokenHash,
    token.last4,
    token.expiry,
    token.issuedAt,
    token.expiresAt,
    token.issuedBy,
    token.lastUsedAt,
    null,
    scopesColumn(token.scopes),
  ];
}

/** `?, ?, …` (SQLite) or `$1, $2, …` (PostgreSQL) for `count` values. */
export function placeholders(count: number, dialect: 'sqlite' | 'postgres'): string {
  return Array.from({ length: count }, (_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`)).join(', ');
}

/** A scope list as stored. */
export function scopesColumn(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/** A boolean as stored: 0/1 (SQLite binds no booleans). */
export function flagColumn(value: boolean | undefined): number {
  return value === true ? 1 : 0;
}

/** A bot row (selected with {@link BOT_COLUMNS}) as a record. */
export function botFromRow(
  row: Omit<BotRecord, 'allowedScopes' | 'requireDpop'> & {
    allowedScopes: string;
    requireDpop: boolean | number;
  },
): BotRecord {
  return { ...row, allowedScopes: splitScopes(row.allowedScopes), requireDpop: Boolean(row.requireDpop) };
}

/** A token row (selected with {@link TOKEN_COLUMNS}) as a record. */
export function tokenFromRow(
  row: Omit<BotTokenRecord, 'scopes'> & { scopes: string | null },
): BotTokenRecord {
  return { ...row, scopes: row.scopes === null ? null : splitScopes(row.scopes) };
}

/** A personal token row (selected with {@link PERSONAL_TOKEN_COLUMNS}) as a record. */
export function personalTokenFromRow(
  row: Omit<PersonalTokenRecord, 'scopes'> & { scopes: string },
): PersonalTokenRecord {
  return { ...row, scopes: splitScopes(row.scopes) };
}

function splitScopes(column: string): string[] {
  return column === '' ? [] : column.split(' ');
}
