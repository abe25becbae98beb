// The SQLite store's connection: opens and migrates the file, runs reads and `BEGIN IMMEDIATE`
// writes (each write appending to the `changes` log and telling this instance's listeners), turns
// driver outages into 503 `ERR_STORE_UNAVAILABLE`, and polls for other processes' changes.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { ConfigError, JwtGateError } from '../errors.js';
import { Listeners } from './listeners.js';
import { loadDriver } from './load-driver.js';
import { SqliteChangeLog } from './sqlite-change-log.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { DATABASE_URL_FIELD, storeUnavailable } from './store-errors.js';
import { ALL_BOTS } from './types.js';
import type { StoreChange } from './types.js';

/**
 * Failed timer polls in a row (with no successful `syncChanges` between) after which the store
 * reports itself unhealthy (~1 s at 250 ms).
 */
const POLL_FAILURES_UNHEALTHY = 4;

export interface SqliteStoreOptions {
  /** Absolute path of the database file; its directory is created if missing. */
  path: string;
  /**
   * How often other processes' writes are looked for between requests, ms. Default 250. A bot-token
   * check does not wait for it: the registry calls `syncChanges()` first.
   */
  pollIntervalMs?: number;
  /** How long a write waits for another process's lock before failing with 503, ms. Default 5000. */
  busyTimeoutMs?: number;
}

/**
 * One SQLite file in WAL mode, shared with other processes: `read` and `write` run the store's
 * statements, `onChange` hears every committed change (this instance's at once, others' through
 * `syncChanges` and the poller), `onHealth` hears when others' changes may be missed.
 */
export class SqliteConnection {
  readonly #options: Required<SqliteStoreOptions>;
  readonly #changes = new Listeners<StoreChange>();
  readonly #health = new Listeners<boolean>();
  /** Polls failed in a row; from POLL_FAILURES_UNHEALTHY on, changes by others may be missed. */
  #pollFailures = 0;
  #db: Database.Database | undefined;
  /** The driver module, loaded by `init()`. */
  #driver: typeof Database | undefined;
  #poller: NodeJS.Timeout | undefined;
  readonly #changeLog = new SqliteChangeLog();

  constructor(options: SqliteStoreOptions) {
    this.#options = { pollIntervalMs: 250, busyTimeoutMs: 5000, ...options };
  }

  /** Loads the driver (`better-sqlite3`, an optional peer dependency), opens the file, migrates it. */
  async init(): Promise<void> {
    if (this.#db !== undefined) return;
    const driver = (this.#driver ??= await loadDriver<typeof Database>('better-sqlite3'));
    if (this.#db !== undefined) return;
    const { path, busyTimeoutMs, pollIntervalMs } = this.#options;
    let db: Database.Database;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new driver(path, { timeout: busyTimeoutMs });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`${DATABASE_URL_FIELD}: cannot open the SQLite file "${path}" (${reason}).`, {
        cause: error,
      });
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrateSqlite(db);
      this.#changeLog.start(db);
    } catch (error) {
      db.close();
      throw this.#translate(error);
    }
    this.#db = db;
    this.#poller = setInterval(() => this.#poll(), pollIntervalMs);
    this.#poller.unref();
  }

  close(): Promise<void> {
    clearInterval(this.#poller);
    this.#poller = undefined;
    this.#db?.close();
    this.#db = undefined;
    this.#changes.clear();
    this.#health.clear();
    return Promise.resolve();
  }

  /** `false` after several failed polls in a row (others' changes may be missed), `true` once back. */
  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  /** Runs `query` now, outside `write`: no change is logged nor emitted. */
  read<T>(query: (db: Database.Database) => T): Promise<T> {
    try {
      return Promise.resolve(query(this.#open()));
    } catch (error) {
      return Promise.reject(this.#translate(error));
    }
  }

  /**
   * Runs `mutate` in a `BEGIN IMMEDIATE` transaction (the write lock is taken first, so concurrent
   * writers in other processes queue instead of deadlocking on upgrade), logs the change in the same
   * transaction and, once committed, tells this instance's listeners synchronously.
   */
  write<T>(
    change: StoreChange,
    mutate: (db: Database.Database) => { result: T; changed: boolean },
  ): Promise<T> {
    try {
      const db = this.#open();
      const { result, seq } = db
        .transaction(() => {
          const outcome = mutate(db);
          if (!outcome.changed) return { result: outcome.result, seq: null };
          return { result: outcome.result, seq: this.#changeLog.append(change) };
        })
        .immediate();
      if (seq !== null) {
        this.#changeLog.committed(seq);
        this.#changes.emit(change);
      }
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(this.#translate(error));
    }
  }

  /**
   * Delivers the changes other connections (instances, the CLI) committed since the last look, now:
   * their `onChange` listeners run before it returns. One cached `PRAGMA data_version` when nothing
   * moved; the `changes` rows only when it did. Throws (`ERR_STORE_UNAVAILABLE` when the file is
   * busy or unreadable) when it cannot tell: callers fail closed.
   */
  syncChanges(): void {
    if (this.#db === undefined) return;
    let changed: StoreChange[];
    try {
      changed = this.#changeLog.poll();
    } catch (error) {
      throw this.#translate(error);
    }
    if (this.#pollFailures >= POLL_FAILURES_UNHEALTHY) {
      this.#changes.emit({ botName: ALL_BOTS });
      this.#health.emit(true);
    }
    this.#pollFailures = 0;
    for (const change of changed) this.#changes.emit(change);
  }

  /** The timer's look for others' changes: keeps listeners current between requests, and health. */
  #poll(): void {
    try {
      this.syncChanges();
    } catch {
      // One failure may be transient (the file briefly locked); several in a row mean changes by
      // other processes (a CLI revoke) may be missed: say so, so bot tokens fail closed.
      if (++this.#pollFailures === POLL_FAILURES_UNHEALTHY) this.#health.emit(false);
    }
  }

  #open(): Database.Database {
    if (this.#db === undefined) throw new Error('SqliteStore: call init() before using the store.');
    return this.#db;
  }

  #translate(error: unknown): Error {
    if (error instanceof JwtGateError) return error;
    if (
      this.#driver !== undefined &&
      error instanceof this.#driver.SqliteError &&
      /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(error.code)
    ) {
      return storeUnavailable('SQLite', error);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
