import type { BotTokenRecord } from './types.js';

/**
 * SELECT lists shared by the SQL stores: columns are snake_case, records camelCase. Aliases are
 * quoted so PostgreSQL keeps their case.
 */
export const BOT_COLUMNS =
  'name, display_name AS "displayName", description, created_at AS "createdAt", created_by AS "createdBy"';

export const TOKEN_COLUMNS =
  'bot_name AS "botName", jti, token_hash AS "tokenHash", last4, expiry, issued_at AS "issuedAt", ' +
  'expires_at AS "expiresAt", issued_by AS "issuedBy", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"';

/** The columns a new token row is written with, in the order of {@link tokenInsertValues}. */
export const TOKEN_INSERT_COLUMNS =
  'bot_name, jti, token_hash, last4, expiry, issued_at, expires_at, issued_by, last_used_at, revoked_at';

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
  ];
}

export const AUDIT_COLUMNS = 'id, at, actor, action, bot_name AS "botName", jti, detail';
