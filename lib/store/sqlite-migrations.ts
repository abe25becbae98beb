import type Database from 'better-sqlite3';
import { schemaTooNew } from './store-errors.js';

/**
 * Numbered SQLite migrations: entry i brings the schema to version i + 1. Append only; never edit
 * a released entry. Times are epoch milliseconds.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE bots (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
  );
  CREATE TABLE bot_tokens (
    jti TEXT PRIMARY KEY,
    bot_name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    last4 TEXT NOT NULL,
    expiry TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    issued_by TEXT NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
  );
  -- At most one current token per bot, whatever the writers do.
  CREATE UNIQUE INDEX bot_tokens_current ON bot_tokens (bot_name) WHERE revoked_at IS NULL;
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    bot_name TEXT NOT NULL,
    jti TEXT,
    detail TEXT
  );
  CREATE INDEX audit_log_bot ON audit_log (bot_name, id);
  -- A monotonic log of which bot changed, read by other processes polling PRAGMA data_version.
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bot_name TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  `,
  // 2: scopes. Existing bots are allowed none; existing tokens (NULL) hold their bot's allowed set.
  `
  ALTER TABLE bots ADD COLUMN allowed_scopes TEXT NOT NULL DEFAULT '';
  ALTER TABLE bot_tokens ADD COLUMN scopes TEXT;
  `,
  // 3: personal access tokens, DPoP. Existing bots do not require DPoP; existing tokens are unbound.
  `
  CREATE TABLE personal_tokens (
    jti TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    token_name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    last4 TEXT NOT NULL,
    expiry TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    issued_by TEXT NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER,
    scopes TEXT NOT NULL
  );
  CREATE INDEX personal_tokens_live ON personal_tokens (user_name) WHERE revoked_at IS NULL;
  ALTER TABLE audit_log ADD COLUMN user_name TEXT;
  CREATE INDEX audit_log_user ON audit_log (user_name, id) WHERE user_name IS NOT NULL;
  ALTER TABLE bots ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE bot_tokens ADD COLUMN dpop_jkt TEXT;
  -- The DPoP replay cache (RFC 9449 §11.1): one row per proof still inside its window.
  CREATE TABLE dpop_proofs (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX dpop_proofs_expires ON dpop_proofs (expires_at);
  `,
];

/**
 * Brings the schema to the latest version inside one `BEGIN IMMEDIATE` transaction, so two
 * processes starting at once serialise (the second waits on busy_timeout, then finds nothing to do).
 */
export function migrateSqlite(db: Database.Database): void {
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_version').get() as {
      version: number;
    };
    if (row.version > SQLITE_MIGRATIONS.length) throw schemaTooNew(row.version, SQLITE_MIGRATIONS.length);
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    SQLITE_MIGRATIONS.forEach((sql, index) => {
      const version = index + 1;
      if (version <= row.version) return;
      db.exec(sql);
      record.run(version, Date.now());
    });
  }).immediate();
}
