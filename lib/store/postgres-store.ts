import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, conflict, notFound } from '../errors.js';
import { Listeners } from './listeners.js';
import { loadDriver } from './load-driver.js';
import { PostgresChangeListener } from './postgres-change-listener.js';
import { translatePostgresError } from './postgres-errors.js';
import { migratePostgres } from './postgres-migrations.js';
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
import { ALL_BOTS } from './types.js';
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

type BotRow = Parameters<typeof botFromRow>[0];
type TokenRow = Parameters<typeof tokenFromRow>[0];
type PersonalTokenRow = Parameters<typeof personalTokenFromRow>[0];

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/db`. Never echoed in errors (it may hold a password). */
  url: string;
  /** Schema holding jwt-gate's tables; created if missing. Default `jwt_gate`. */
  schema?: string;
  /** How long to wait for a connection before failing with 503, ms. Default 2000. */
  connectionTimeoutMillis?: number;
  /** How long to wait for a query's answer before failing with 503, ms. Default 5000. */
  queryTimeoutMillis?: number;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** Reconnect backoff of the notification connection, ms. Defaults 100 and 5000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/;
const INT8_OID = 20;

/** Type parsing of `pg`, except that bigint columns (epoch ms, well inside Number's range) are numbers. */
function typeParsers(driver: typeof pg): typeof pg.types.getTypeParser {
  const parse = (oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) =>
    oid === INT8_OID ? Number : (driver.types.getTypeParser(oid, format) as (value: string) => unknown);
  return parse as typeof pg.types.getTypeParser;
}

type Tx = pg.PoolClient;

/**
 * The shared store: several jwt-gate instances on one PostgreSQL database. Writes are transactions
 * that lock the bot's row, so concurrent token issues serialise; each also sends a NOTIFY that the
 * other instances receive on a dedicated LISTEN connection.
 */
export class PostgresStore implements BotStore {
  readonly kind = 'postgres';
  /** The schema, quoted for SQL. */
  readonly #s: string;
  readonly #channel: string;
  /** Tags our own notifications, which were already emitted synchronously. */
  readonly #origin = randomUUID();
  readonly #options: PostgresStoreOptions;
  readonly #schema: string;
  /** Set by `init()`, once the driver (`pg`, an optional peer dependency) is loaded. */
  #pool: pg.Pool | undefined;
  #listener: PostgresChangeListener | undefined;
  readonly #changes = new Listeners<StoreChange>();
  readonly #health = new Listeners<boolean>();
  #initialized = false;
  #closed = false;
  /** When expired DPoP proofs are next pruned (the `now` of claims, epoch ms). */
  #dpopPruneAt = 0;

  constructor(options: PostgresStoreOptions) {
    const schema = options.schema ?? 'jwt_gate';
    if (!SCHEMA_NAME.test(schema)) {
      throw new ConfigError(
        `PostgreSQL schema "${schema}" is invalid: use lower-case letters, digits and "_" (at most 40 characters).`,
      );
    }
    this.#s = `"${schema}"`;
    this.#channel = `${schema}_changes`;
    this.#options = options;
    this.#schema = schema;
  }

  async init(): Promise<void> {
    if (this.#initialized) return;
    const pool = this.#pool ?? this.#connectPool(await loadDriver<typeof pg>('pg'));
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client, this.#s);
      } finally {
        client.release();
      }
      await this.#listener?.start();
      this.#initialized = true;
    } catch (error) {
      throw translatePostgresError(error, true);
    }
  }

  #connectPool(driver: typeof pg): pg.Pool {
    const options = this.#options;
    const schema = this.#schema;
    const client: pg.ClientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 2000,
      query_timeout: options.queryTimeoutMillis ?? 5000,
      keepAlive: true,
      application_name: `jwt-gate:${schema}`,
      types: { getTypeParser: typeParsers(driver) },
    };
    const pool = new driver.Pool({ ...client, max: options.maxConnections ?? 10, allowExitOnIdle: true });
    // An idle client whose server went away: the pool drops it; the next query reports the outage.
    pool.on('error', () => undefined);
    this.#pool = pool;
    this.#listener = new PostgresChangeListener({
      driver,
      client: { ...client, application_name: `jwt-gate-listen:${schema}` },
      channel: this.#channel,
      minBackoffMs: options.minBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      onNotification: (payload) => this.#notified(payload),
      onResync: () => this.#changes.emit({ botName: ALL_BOTS }),
      onHealth: (healthy) => this.#health.emit(healthy),
    });
    return pool;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#changes.clear();
    this.#health.clear();
    await this.#listener?.stop();
    await this.#pool?.end();
  }

  listBots(): Promise<BotRecord[]> {
    return this.#rows<BotRow>(`SELECT ${BOT_COLUMNS} FROM ${this.#s}.bots ORDER BY name`).then((rows) =>
      rows.map(botFromRow),
    );
  }

  async getBot(name: string): Promise<BotRecord | null> {
    const rows = await this.#rows<BotRow>(`SELECT ${BOT_COLUMNS} FROM ${this.#s}.bots WHERE name = $1`, [
      name,
    ]);
    return rows[0] === undefined ? null : botFromRow(rows[0]);
  }

  createBot(bot: BotRecord): Promise<void> {
    return this.#write({ botName: bot.name }, async (tx) => {
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
    return this.#write({ botName: name }, async (tx) => {
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
    return this.#write({ botName: name }, async (tx) => {
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
    return this.#write({ botName: name }, async (tx) => {
      if (!(await this.#lockBot(tx, name))) return { result: false, changed: false };
      await this.#revoke(tx, name, actor, at, BOT_DELETED_DETAIL);
      await tx.query(`DELETE FROM ${this.#s}.bots WHERE name = $1`, [name]);
      await this.#log(tx, at, actor, 'bot.delete', name, null, null);
      return { result: true, changed: true };
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#write({ botName: token.botName }, async (tx) => {
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
    return this.#write({ botName }, async (tx) => {
      // Locked like issueToken, so a revoke is never overtaken by a concurrent issue.
      if (!(await this.#lockBot(tx, botName))) return { result: null, changed: false };
      const jti = await this.#revoke(tx, botName, actor, at, null);
      return { result: jti, changed: jti !== null };
    });
  }

  async getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    const rows = await this.#rows<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.bot_tokens WHERE bot_name = $1 AND revoked_at IS NULL`,
      [botName],
    );
    return rows[0] === undefined ? null : tokenFromRow(rows[0]);
  }

  listCurrentTokens(): Promise<BotTokenRecord[]> {
    return this.#rows<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.bot_tokens WHERE revoked_at IS NULL ORDER BY bot_name`,
    ).then((rows) => rows.map(tokenFromRow));
  }

  async recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void> {
    // Sorted, so two instances flushing overlapping batches lock rows in the same order.
    const latest = [...latestUses(uses)].sort(([a], [b]) => (a < b ? -1 : 1));
    if (latest.length === 0) return;
    const values = [latest.map(([jti]) => jti), latest.map(([, at]) => at)];
    // One statement per table, one after the other: each locks its rows in jti order.
    for (const table of ['bot_tokens', 'personal_tokens']) {
      await this.#rows(
        `UPDATE ${this.#s}.${table} AS t SET last_used_at = u.at
         FROM unnest($1::text[], $2::bigint[]) AS u(jti, at)
         WHERE t.jti = u.jti AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`,
        values,
      );
    }
  }

  issuePersonalToken(token: PersonalTokenRecord, actor: string, limit: number): Promise<void> {
    return this.#write({ userName: token.userName }, async (tx) => {
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
    return this.#write({ userName }, async (tx) => {
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
    return this.#rows<PersonalTokenRow>(
      `SELECT ${PERSONAL_TOKEN_COLUMNS} FROM ${this.#s}.personal_tokens
       WHERE user_name = $1 AND revoked_at IS NULL ORDER BY issued_at DESC, jti`,
      [userName],
    ).then((rows) => rows.map(personalTokenFromRow));
  }

  listLivePersonalTokens(at: number, userName?: string): Promise<LivePersonalToken[]> {
    return this.#rows<LivePersonalToken>(
      `SELECT ${LIVE_PERSONAL_TOKEN_COLUMNS} FROM ${this.#s}.personal_tokens
       WHERE ($2::text IS NULL OR user_name = $2) AND revoked_at IS NULL
         AND (expires_at IS NULL OR expires_at > $1)`,
      [at, userName ?? null],
    );
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    return this.#rows<AuditEntry>(
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
      await this.#rows(`DELETE FROM ${this.#s}.dpop_proofs WHERE expires_at <= $1`, [now]);
    }
    const claimed = await this.#rows(
      `INSERT INTO ${this.#s}.dpop_proofs (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at
       WHERE ${this.#s}.dpop_proofs.expires_at <= $3
       RETURNING 1`,
      [key, expiresAt, now],
    );
    return claimed.length === 1;
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
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

  async #rows<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]> {
    try {
      return (await this.#open().query<T>(sql, values)).rows;
    } catch (error) {
      throw translatePostgresError(error, false);
    }
  }

  /**
   * Runs `mutate` in a transaction that also NOTIFYs the other instances (delivered on commit),
   * then tells this instance's listeners.
   */
  async #write<T>(
    change: StoreChange,
    mutate: (tx: Tx) => Promise<{ result: T; changed: boolean }>,
  ): Promise<T> {
    let tx: Tx;
    try {
      tx = await this.#open().connect();
    } catch (error) {
      throw translatePostgresError(error, false);
    }
    let broken: Error | undefined;
    try {
      await tx.query('BEGIN');
      const { result, changed } = await mutate(tx);
      if (changed) {
        await tx.query('SELECT pg_notify($1, $2)', [
          this.#channel,
          JSON.stringify({ ...change, origin: this.#origin }),
        ]);
      }
      await tx.query('COMMIT');
      if (changed) this.#changes.emit(change);
      return result;
    } catch (error) {
      await tx.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError; // the connection is unusable: destroy it rather than pool it
      });
      throw translatePostgresError(error, false);
    } finally {
      tx.release(broken);
    }
  }

  /** A NOTIFY payload, `{botName, origin}` or `{userName, origin}`; anything unreadable resyncs all. */
  #notified(payload: string): void {
    let change: { botName?: unknown; userName?: unknown; origin?: unknown };
    try {
      change = JSON.parse(payload) as typeof change;
    } catch {
      change = { botName: ALL_BOTS };
    }
    if (change.origin === this.#origin) return;
    if (typeof change.userName === 'string') this.#changes.emit({ userName: change.userName });
    else this.#changes.emit({ botName: typeof change.botName === 'string' ? change.botName : ALL_BOTS });
  }

  #open(): pg.Pool {
    if (this.#pool === undefined) throw new Error('PostgresStore: call init() before using the store.');
    return this.#pool;
  }
}
