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
  TOKEN_COLUMNS,
  TOKEN_INSERT_COLUMNS,
  botFromRow,
  botInsertValues,
  scopesColumn,
  tokenFromRow,
  tokenInsertValues,
} from './sql-columns.js';
import {
  BOT_DELETED_DETAIL,
  REPLACED_DETAIL,
  auditLimit,
  issueDetail,
  latestUses,
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
  StoreChange,
} from './types.js';

type BotRow = Parameters<typeof botFromRow>[0];
type TokenRow = Parameters<typeof tokenFromRow>[0];

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
    return this.#write(bot.name, async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO ${this.#s}.bots (${BOT_INSERT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING`,
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
    return this.#write(name, async (tx) => {
      const updated = await tx.query(`UPDATE ${this.#s}.bots SET allowed_scopes = $1 WHERE name = $2`, [
        scopesColumn(allowedScopes),
        name,
      ]);
      if (updated.rowCount !== 1) return { result: false, changed: false };
      await this.#log(tx, at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return { result: true, changed: true };
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    return this.#write(name, async (tx) => {
      if (!(await this.#lockBot(tx, name))) return { result: false, changed: false };
      await this.#revoke(tx, name, actor, at, BOT_DELETED_DETAIL);
      await tx.query(`DELETE FROM ${this.#s}.bots WHERE name = $1`, [name]);
      await this.#log(tx, at, actor, 'bot.delete', name, null, null);
      return { result: true, changed: true };
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#write(token.botName, async (tx) => {
      // The bot's row lock serialises issues for one bot across all instances.
      if (!(await this.#lockBot(tx, token.botName))) throw notFound(`Bot "${token.botName}" not found.`);
      const replaced = await this.#revoke(tx, token.botName, actor, token.issuedAt, REPLACED_DETAIL);
      await tx.query(
        `INSERT INTO ${this.#s}.bot_tokens (${TOKEN_INSERT_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        tokenInsertValues(token),
      );
      await this.#log(tx, token.issuedAt, actor, 'token.issue', token.botName, token.jti, issueDetail(token));
      return { result: { replaced }, changed: true };
    });
  }

  revokeToken(botName: string, actor: string, at: number): Promise<string | null> {
    return this.#write(botName, async (tx) => {
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
    await this.#rows(
      `UPDATE ${this.#s}.bot_tokens AS t SET last_used_at = u.at
       FROM unnest($1::text[], $2::bigint[]) AS u(jti, at)
       WHERE t.jti = u.jti AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`,
      [latest.map(([jti]) => jti), latest.map(([, at]) => at)],
    );
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    const limit = auditLimit(opts);
    return opts?.botName === undefined
      ? this.#rows<AuditEntry>(
          `SELECT ${AUDIT_COLUMNS} FROM ${this.#s}.audit_log ORDER BY id DESC LIMIT $1`,
          [limit],
        )
      : this.#rows<AuditEntry>(
          `SELECT ${AUDIT_COLUMNS} FROM ${this.#s}.audit_log WHERE bot_name = $1 ORDER BY id DESC LIMIT $2`,
          [opts.botName, limit],
        );
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
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.#s}.audit_log (at, actor, action, bot_name, jti, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [at, actor, action, botName, jti, detail],
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
  async #write<T>(botName: string, mutate: (tx: Tx) => Promise<{ result: T; changed: boolean }>): Promise<T> {
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
          JSON.stringify({ botName, origin: this.#origin }),
        ]);
      }
      await tx.query('COMMIT');
      if (changed) this.#changes.emit({ botName });
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

  #notified(payload: string): void {
    let change: { botName?: unknown; origin?: unknown };
    try {
      change = JSON.parse(payload) as typeof change;
    } catch {
      change = { botName: ALL_BOTS };
    }
    if (change.origin === this.#origin) return;
    this.#changes.emit({ botName: typeof change.botName === 'string' ? change.botName : ALL_BOTS });
  }

  #open(): pg.Pool {
    if (this.#pool === undefined) throw new Error('PostgresStore: call init() before using the store.');
    return this.#pool;
  }
}
