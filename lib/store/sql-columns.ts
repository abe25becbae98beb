/**
 * SELECT lists shared by the SQL stores: columns are snake_case, records camelCase. Aliases are
 * quoted so PostgreSQL keeps their case.
 */
export const BOT_COLUMNS =
  'name, display_name AS "displayName", description, created_at AS "createdAt", created_by AS "createdBy"';

export const TOKEN_COLUMNS =
  'bot_name AS "botName", jti, token_hash AS "tokenHash", last4, expiry, issued_at AS "issuedAt", ' +
  'expires_at AS "expiresAt", issued_by AS "issuedBy", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"';

export const AUDIT_COLUMNS = 'id, at, actor, action, bot_name AS "botName", jti, detail';
