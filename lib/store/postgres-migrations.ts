import type pg from 'pg';
import { schemaTooNew } from './store-errors.js';

/**
 * Numbered PostgreSQL migrations for the schema `s` (already quoted): entry i brings the schema to
 * version i + 1. Append only; never edit a released entry. Times are epoch milliseconds (bigint).
 */
export function postgresMigrations(s: string): string[] {
  return [
    `
    CREATE TABLE ${s}.bots (
      name text PRIMARY KEY,
      display_name text NOT NULL,
      description text NOT NULL,
      created_at bigint NOT NULL,
      created_by text NOT NULL
    );
    CREATE TABLE ${s}.bot_tokens (
      jti text PRIMARY KEY,
      bot_name text NOT NULL,
      token_hash text NOT NULL,
      last4 text NOT NULL,
      expiry text NOT NULL,
      issued_at bigint NOT NULL,
      expires_at bigint,
      issued_by text NOT NULL,
      last_used_at bigint,
      revoked_at bigint
    );
    -- At most one current token per bot, whatever the writers do.
    CREATE UNIQUE INDEX bot_tokens_current ON ${s}.bot_tokens (bot_name) WHERE revoked_at IS NULL;
    CREATE TABLE ${s}.audit_log (
      id bigserial PRIMARY KEY,
      at bigint NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      bot_name text NOT NULL,
      jti text,
      detail text
    );
    CREATE INDEX audit_log_bot ON ${s}.audit_log (bot_name, id);
    `,
    // 2: scopes. Existing bots are allowed none; existing tokens (NULL) hold their bot's allowed set.
    `
    ALTER TABLE ${s}.bots ADD COLUMN allowed_scopes text NOT NULL DEFAULT '';
    ALTER TABLE ${s}.bot_tokens ADD COLUMN scopes text;
    `,
    // 3: personal access tokens, DPoP. Existing bots do not require DPoP; existing tokens are unbound.
    `
    CREATE TABLE ${s}.personal_tokens (
      jti text PRIMARY KEY,
      user_name text NOT NULL,
      token_name text NOT NULL,
      token_hash text NOT NULL,
      last4 text NOT NULL,
      expiry text NOT NULL,
      issued_at bigint NOT NULL,
      expires_at bigint,
      issued_by text NOT NULL,
      last_used_at bigint,
      revoked_at bigint,
      scopes text NOT NULL
    );
    CREATE INDEX personal_tokens_live ON ${s}.personal_tokens (user_name) WHERE revoked_at IS NULL;
    ALTER TABLE ${s}.audit_log ADD COLUMN user_name text;
    CREATE INDEX audit_log_user ON ${s}.audit_log (user_name, id) WHERE user_name IS NOT NULL;
    ALTER TABLE ${s}.bots ADD COLUMN require_dpop boolean NOT NULL DEFAULT false;
    ALTER TABLE ${s}.bot_tokens ADD COLUMN dpop_jkt text;
    -- The DPoP replay cache (RFC 9449 §11.1): one row per proof still inside its window.
    CREATE TABLE ${s}.dpop_proofs (key text PRIMARY KEY, expires_at bigint NOT NULL);
    CREATE INDEX dpop_proofs_expires ON ${s}.dpop_proofs (expires_at);
    `,
  ];
}

/**
 * Brings schema `s` (quoted) to the latest version in one transaction under an advisory lock keyed
 * on the schema, so instances starting at once run the migrations one after the other (DDL is
 * transactional in PostgreSQL: a failed migration leaves nothing behind).
 */
export async function migratePostgres(client: pg.ClientBase, s: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`jwt-gate:migrate:${s}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
    );
    const { rows } = await client.query<{ version: number }>(
      `SELECT COALESCE(MAX(version), 0)::integer AS version FROM ${s}.schema_version`,
    );
    const current = rows[0]?.version ?? 0;
    const migrations = postgresMigrations(s);
    if (current > migrations.length) throw schemaTooNew(current, migrations.length);
    for (const [index, sql] of migrations.entries()) {
      const version = index + 1;
      if (version <= current) continue;
      await client.query(sql);
      await client.query(`INSERT INTO ${s}.schema_version (version, applied_at) VALUES ($1, $2)`, [
        version,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
