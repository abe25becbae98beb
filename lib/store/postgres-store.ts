// The shared store's SQL: bots, bot tokens, personal tokens, the audit log and DPoP proofs in one
// PostgreSQL schema. The pool, the write transactions, change notification and health are the
// connection's (`postgres-connection.ts`).
import { conflict, notFound } from '../errors.js';
import { PostgresConnection } from './postgres-connection.js';
import type { PostgresStoreOptions, Tx } from './postgres-connection.js';
import {
  AUDIT_COLUMNS,
  BOT_COLUMNS,
  BOT_INSERT_COLUMNS,
  LIVE_PERSONAL_TOKEN_COLUMNS,
  PERSONAL_TOKEN_COLUMNS,
  PERSONAL_TOKEN_INSERT_COLUMNS,
  TOKEN_COLUMNS,
  TOKEN_INSERT_COLUMNS,
  botFromRow,
  botInsertValues,
  flagColumn,
  personalTokenFromRow,
  personalTokenInsertValues,
  placeholders,
  scopesColumn,
  tokenFromRow,
  tokenInsertValues,
} from './sql-columns.js';
import {
  BOT_DELETED_DETAIL,
  DPOP_PRUNE_INTERVAL_MS,
  REPLACED_DETAIL,
  auditLimit,
  issueDetail,
  latestUses,
  personalTokenLimitReached,
  requireDpopDetail,
  scopesDetail,
} from './store-helpers.js';
import type {
  AuditAction,
  AuditEntry,
  BotRecord,
  BotStore,
  BotTokenRecord,
  ListAuditOptions,
  LivePersonalToken,
  PersonalTokenRecord,
  StoreChange,
} from './types.js';

export type { PostgresStoreOptions } from './postgres-connection.js';

type BotRow = Parameters<typeof botFromRow>[0];
type TokenRow = Parameters<typeof tokenFromRow>[0];
type PersonalTokenRow = Parameters<typeof personalTokenFromRow>[0];

/**
 * The shared store: several jwt-gate instances on one PostgreSQL database. Writes are transactions
 * that lock the bot's row, so concurrent token issues serialise; each also sends a NOTIFY that the
 * other instances receive on a dedicated LISTEN connection.
 */
export class PostgresStore implements BotStore {
  readonly kind = 'postgres';
  /** The schema, quoted for SQL. */
  readonly #s: string;
  readonly #schema: string;
  readonly #db: PostgresConnection;
  /** When expired DPoP proofs are next pruned (the `now` of claims, epoch ms). */
  #dpopPruneAt = 0;

  constructor(options: PostgresStoreOptions) {
    this.#db = new PostgresConnection(options);
    this.#schema = this.#db.schema;
    this.#s = `"${this.#schema}"`;
  }

  init(): Promise<void> {
    return this.#db.init();
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  listBots(): Promise<BotRecord[]> {
    return this.#db
      .read<BotRow>(`SELECT ${BOT_COLUMNS} FROM ${this.#s}.bots ORDER BY name`)
      .then((rows) => rows.map(botFromRow));
  }

  async getBot(name: string): Promise<BotRecord | null> {
    const rows = await this.#db.read<BotRow>(`SELECT ${BOT_COLUMNS} FROM ${this.#s}.bots WHERE name = $1`, [
      name,
    ]);
    return rows[0] === undefined ? null : botFromRow(rows[0]);
  }

  createBot(bot: BotRecord): Promise<void> {
    return this.#db.write({ botName: bot.name }, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO ${this.#s}.bots (${BOT_INSERT_COLUMNS})
         VALUES (${placeholders(7, 'postgres')}) ON CONFLICT (name) DO NOTHING`,
        botInsertValues(bot),
      );
      if (inserted.rowCount !== 1) throw conflict(`Bot "${bot.name}" already exists.`);
      await this.#log(
        tx,
        bot.createdAt,
        bot.createdBy,
        'bot.create',
        bot.name,
        null,
        scopesDetail(bot.allowedScopes),
      );
      return { result: undefined, changed: true };
    });
  }

  setAllowedScopes(
    name: string,
    allowedScopes: readonly string[],
    actor: string,
    at: number,
  ): Promise<boolean> {
    return this.#db.write({ botName: name }, async (tx) => {
      const updated = await tx.query(`UPDATE ${this.#s}.bots SET allowed_scopes = $1 WHERE name = $2`, [
        scopesColumn(allowedScopes),
        name,
      ]);
      if (updated.rowCount !== 1) return { result: false, changed: false };
      await this.#log(tx, at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return { result: true, changed: true };
    });
  }

  setRequireDpop(name: string, requireDpop: boolean, actor: string, at: number): Promise<boolean> {
    return this.#db.write({ botName: name }, async (tx) => {
      const updated = await tx.query(`UPDATE ${this.#s}.bots SET require_dpop = $1 WHERE name = $2`, [
        flagColumn(requireDpop),
        name,
      ]);
      if (updated.rowCount !== 1) return { result: false, changed: false };
      await this.#log(tx, at, actor, 'bot.update', name, null, requireDpopDetail(requireDpop));
      return { result: true, changed: true };
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    return this.#db.write({ botName: name }, async (tx) => {
      if (!(await this.#lockBot(tx, name))) return { result: false, changed: false };
      await this.#revoke(tx, name, actor, at, BOT_DELETED_DETAIL);
      await tx.query(`DELETE FROM ${this.#s}.bots WHERE name = $1`, [name]);
      await this.#log(tx, at, actor, 'bot.delete', name, null, null);
      return { result: true, changed: true };
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#db.write({ botName: token.botName }, async (tx) => {
      // The bot's row lock serialises issues for one bot across all instances.
      if (!(await this.#lockBot(tx, token.botName))) throw notFound(`Bot "${token.botName}" not found.`);
      const replaced = await this.#revoke(tx, token.botName, actor, token.issuedAt, REPLACED_DETAIL);
      await tx.query(
        `INSERT INTO ${this.#s}.bot_tokens (${TOKEN_INSERT_COLUMNS})
           VALUES (${placeholders(12, 'postgres')})`,
        tokenInsertValues(token),
      );
      await this.#log(tx, token.issuedAt, actor, 'token.issue', token.botName, token.jti, issueDetail(token));
      return { result: { replaced }, changed: true };
    });
  }

  revokeToken(botName: string, actor: string, at: number): Promise<string | null> {
    return this.#db.write({ botName }, async (tx) => {
      // Locked like issueToken, so a revoke is never overtaken by a concurrent issue.
      if (!(await this.#lockBot(tx, botName))) return { result: null, changed: false };
      const jti = await this.#revoke(tx, botName, actor, at, null);
      return { result: jti, changed: jti !== null };
    });
  }

  async getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    const rows = await this.#db.read<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.bot_tokens WHERE bot_name = $1 AND revoked_at IS NULL`,
      [botName],
    );
    return rows[0] === undefined ? null : tokenFromRow(rows[0]);
  }

  listCurrentTokens(): Promise<BotTokenRecord[]> {
    return this.#db
      .read<TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.bot_tokens WHERE revoked_at IS NULL ORDER BY bot_name`,
      )
      .then((rows) => rows.map(tokenFromRow));
  }

  async recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void> {
    // Sorted, so two instances flushing overlapping batches lock rows in the same order.
    const latest = [...latestUses(uses)].sort(([a], [b]) => (a < b ? -1 : 1));
    if (latest.length === 0) return;
    const values = [latest.map(([jti]) => jti), latest.map(([, at]) => at)];
    // One statement per table, one after the other: each locks its rows in jti order.
    for (const table of ['bot_tokens', 'personal_tokens']) {
      await this.#db.read(
        `UPDATE ${this.#s}.${table} AS t SET last_used_at = u.at
         FROM unnest($1::text[], $2::bigint[]) AS u(jti, at)
         WHERE t.jti = u.jti AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`,
        values,
      );
    }
  }

  issuePersonalToken(token: PersonalTokenRecord, actor: string, limit: number): Promise<void> {
    return this.#db.write({ userName: token.userName }, async (tx) => {
      // A lock per person, held to commit, serialises count-then-insert across all instances.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `jwt-gate:user:${this.#schema}:${token.userName}`,
      ]);
      const counted = await tx.query<{ live: number }>(
        `SELECT COUNT(*)::integer AS live FROM ${this.#s}.personal_tokens
         WHERE user_name = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
        [token.userName, token.issuedAt],
      );
      if ((counted.rows[0]?.live ?? 0) >= limit) throw personalTokenLimitReached(limit);
      const inserted = await tx.query(
        `INSERT INTO ${this.#s}.personal_tokens (${PERSONAL_TOKEN_INSERT_COLUMNS})
           VALUES (${placeholders(12, 'postgres')}) ON CONFLICT (jti) DO NOTHING`,
        personalTokenInsertValues(token),
      );
      if (inserted.rowCount !== 1) throw conflict(`Token id "${token.jti}" is already used.`);
      await this.#log(
        tx,
        token.issuedAt,
        actor,
        'personal-token.issue',
        '',
        token.jti,
        issueDetail(token),
        token.userName,
      );
      return { result: undefined, changed: true };
    });
  }

  revokePersonalTokens(
    userName: string,
    jtis: readonly string[] | 'all',
    actor: string,
    at: number,
  ): Promise<string[]> {
    if (jtis !== 'all' && jtis.length === 0) return Promise.resolve([]);
    return this.#db.write({ userName }, async (tx) => {
      const revoked = await tx.query<{ jti: string }>(
        `UPDATE ${this.#s}.personal_tokens SET revoked_at = $1
         WHERE user_name = $2 AND revoked_at IS NULL AND ($3::text[] IS NULL OR jti = ANY($3::text[]))
         RETURNING jti`,
        [at, userName, jtis === 'all' ? null : [...jtis]],
      );
      const revokedJtis = revoked.rows.map((row) => row.jti);
      for (const jti of revokedJtis) {
        await this.#log(tx, at, actor, 'personal-token.revoke', '', jti, null, userName);
      }
      return { result: revokedJtis, changed: revokedJtis.length > 0 };
    });
  }

  listPersonalTokens(userName: string): Promise<PersonalTokenRecord[]> {
    return this.#db
      .read<PersonalTokenRow>(
        `SELECT ${PERSONAL_TOKEN_COLUMNS} FROM ${this.#s}.personal_tokens
       WHERE user_name = $1 AND revoked_at IS NULL ORDER BY issued_at DESC, jti`,
        [userName],
      )
      .then((rows) => rows.map(personalTokenFromRow));
  }

  listLivePersonalTokens(at: number, userName?: string): Promise<LivePersonalToken[]> {
    return this.#db.read<LivePersonalToken>(
      `SELECT ${LIVE_PERSONAL_TOKEN_COLUMNS} FROM ${this.#s}.personal_tokens
       WHERE ($2::text IS NULL OR user_name = $2) AND revoked_at IS NULL
         AND (expires_at IS NULL OR expires_at > $1)`,
      [at, userName ?? null],
    );
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    return this.#db.read<AuditEntry>(
      `SELECT ${AUDIT_COLUMNS} FROM ${this.#s}.audit_log
       WHERE ($1::text IS NULL OR bot_name = $1) AND ($2::text IS NULL OR user_name = $2)
       ORDER BY id DESC LIMIT $3`,
      [opts?.botName ?? null, opts?.userName ?? null, auditLimit(opts)],
    );
  }

  /**
   * One upsert: inserts the key, or takes over an expired one; a key still inside its window is left
   * alone (no row returned) and reported as a replay. Not a registry change: no NOTIFY.
   */
  async claimDpopProof(key: string, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.#dpopPruneAt) {
      this.#dpopPruneAt = now + DPOP_PRUNE_INTERVAL_MS;
      await this.#db.read(`DELETE FROM ${this.#s}.dpop_proofs WHERE expires_at <= $1`, [now]);
    }
    const claimed = await this.#db.read(
      `INSERT INTO ${this.#s}.dpop_proofs (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE ${this.#s}.dpop_proofs.expires_at <= $3
       RETURNING 1`,
      [key, expiresAt, now],
    );
    return claimed.length === 1;
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#db.onChange(listener);
  }

  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#db.onHealth(listener);
  }

  async #lockBot(tx: Tx, name: string): Promise<boolean> {
    const locked = await tx.query(`SELECT 1 FROM ${this.#s}.bots WHERE name = $1 FOR UPDATE`, [name]);
    return locked.rowCount === 1;
  }

  /** Revokes the bot's current token, if any, with its audit row. Returns its jti. */
  async #revoke(
    tx: Tx,
    botName: string,
    actor: string,
    at: number,
    detail: string | null,
  ): Promise<string | null> {
    const revoked = await tx.query<{ jti: string }>(
      `UPDATE ${this.#s}.bot_tokens SET revoked_at = $1 WHERE bot_name = $2 AND revoked_at IS NULL RETURNING jti`,
      [at, botName],
    );
    const jti = revoked.rows[0]?.jti ?? null;
    if (jti !== null) await this.#log(tx, at, actor, 'token.revoke', botName, jti, detail);
    return jti;
  }

  async #log(
    tx: Tx,
    at: number,
    actor: string,
    action: AuditAction,
    botName: string,
    jti: string | null,
    detail: string | null,
    userName: string | null = null,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#s}.audit_log (at, actor, action, bot_name, user_name, jti, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [at, actor, action, botName, userName, jti, detail],
    );
  }
}
