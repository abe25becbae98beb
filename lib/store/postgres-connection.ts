// The PostgreSQL store's connection: the pool and the migrations, reads and write transactions (each
// write NOTIFYing the other instances and telling this instance's listeners), errors turned into 503
// `ERR_STORE_UNAVAILABLE`, and the LISTEN connection that hears other instances' changes.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ConfigError } from '../errors.js';
import { Listeners } from './listeners.js';
import { loadDriver } from './load-driver.js';
import { PostgresChangeListener } from './postgres-change-listener.js';
import { translatePostgresError } from './postgres-errors.js';
import { migratePostgres } from './postgres-migrations.js';
import { ALL_BOTS } from './types.js';
import type { StoreChange } from './types.js';

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

/** A pool client inside a `write` transaction. */
export type Tx = pg.PoolClient;

/**
 * A pool on one PostgreSQL database and schema, shared with other jwt-gate instances: `read` and
 * `write` run the store's statements, `onChange` hears every committed change (this instance's at
 * once, others' by NOTIFY), `onHealth` hears when the LISTEN connection drops and comes back.
 */
export class PostgresConnection {
  /** The schema, unquoted; checked against SCHEMA_NAME, so safe to quote into SQL. */
  readonly schema: string;
  readonly #channel: string;
  /** Tags our own notifications, which were already emitted synchronously. */
  readonly #origin = randomUUID();
  readonly #options: PostgresStoreOptions;
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
    this.#channel = `${schema}_changes`;
    this.#options = options;
    this.schema = schema;
  }

  async init(): Promise<void> {
    if (this.#initialized) return;
    const pool = this.#pool ?? this.#connectPool(await loadDriver<typeof pg>('pg'));
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client, `"${this.schema}"`);
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
    const schema = this.schema;
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

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
  }

  /** One statement on a pooled connection, outside `write`: no change is notified nor emitted. */
  async read<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]> {
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
  async write<T>(
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
