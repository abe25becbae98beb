import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { ConfigError, JwtGateError, conflict, notFound } from '../errors.js';
import { Listeners } from './listeners.js';
import { loadDriver } from './load-driver.js';
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
import { migrateSqlite } from './sqlite-migrations.js';
import { DATABASE_URL_FIELD, storeUnavailable } from './store-errors.js';
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
import { SqliteChangeLog } from './sqlite-change-log.js';
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
import { ALL_BOTS } from './types.js';

type BotRow = Parameters<typeof botFromRow>[0];
type TokenRow = Parameters<typeof tokenFromRow>[0];
type PersonalTokenRow = Parameters<typeof personalTokenFromRow>[0];

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
 * The embedded store: one SQLite file (WAL mode), shareable by several processes on one machine,
 * e.g. the app and the `jwt-gate` CLI. Writes are `BEGIN IMMEDIATE` transactions; each also appends
 * to a `changes` log that other processes find by reading the cheap `PRAGMA data_version` — on a
 * timer, and on demand (`syncChanges`) before every bot-token check.
 */
export class SqliteStore implements BotStore {
  readonly kind = 'sqlite';
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
  /** When expired DPoP proofs are next pruned (the `now` of claims, epoch ms). */
  #dpopPruneAt = 0;

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

  listBots(): Promise<BotRecord[]> {
    return this.#read((db) =>
      (db.prepare(`SELECT ${BOT_COLUMNS} FROM bots ORDER BY name`).all() as BotRow[]).map(botFromRow),
    );
  }

  getBot(name: string): Promise<BotRecord | null> {
    return this.#read((db) => this.#bot(db, name));
  }

  createBot(bot: BotRecord): Promise<void> {
    return this.#write({ botName: bot.name }, (db) => {
      if (this.#bot(db, bot.name) !== null) throw conflict(`Bot "${bot.name}" already exists.`);
      db.prepare(`INSERT INTO bots (${BOT_INSERT_COLUMNS}) VALUES (${placeholders(7, 'sqlite')})`).run(
        ...botInsertValues(bot),
      );
      this.#log(
        db,
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
    return this.#write({ botName: name }, (db) => {
      const updated = db
        .prepare('UPDATE bots SET allowed_scopes = ? WHERE name = ?')
        .run(scopesColumn(allowedScopes), name);
      if (updated.changes !== 1) return { result: false, changed: false };
      this.#log(db, at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return { result: true, changed: true };
    });
  }

  setRequireDpop(name: string, requireDpop: boolean, actor: string, at: number): Promise<boolean> {
    return this.#write({ botName: name }, (db) => {
      const updated = db
        .prepare('UPDATE bots SET require_dpop = ? WHERE name = ?')
        .run(flagColumn(requireDpop), name);
      if (updated.changes !== 1) return { result: false, changed: false };
      this.#log(db, at, actor, 'bot.update', name, null, requireDpopDetail(requireDpop));
      return { result: true, changed: true };
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    return this.#write({ botName: name }, (db) => {
      if (this.#bot(db, name) === null) return { result: false, changed: false };
      this.#revoke(db, name, actor, at, BOT_DELETED_DETAIL);
      db.prepare('DELETE FROM bots WHERE name = ?').run(name);
      this.#log(db, at, actor, 'bot.delete', name, null, null);
      return { result: true, changed: true };
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#write({ botName: token.botName }, (db) => {
      if (this.#bot(db, token.botName) === null) throw notFound(`Bot "${token.botName}" not found.`);
      if (db.prepare('SELECT 1 FROM bot_tokens WHERE jti = ?').get(token.jti) !== undefined) {
        throw conflict(`Token id "${token.jti}" is already used.`);
      }
      const replaced = this.#revoke(db, token.botName, actor, token.issuedAt, REPLACED_DETAIL);
      db.prepare(
        `INSERT INTO bot_tokens (${TOKEN_INSERT_COLUMNS}) VALUES (${placeholders(12, 'sqlite')})`,
      ).run(...tokenInsertValues(token));
      this.#log(db, token.issuedAt, actor, 'token.issue', token.botName, token.jti, issueDetail(token));
      return { result: { replaced }, changed: true };
    });
  }

  revokeToken(botName: string, actor: string, at: number): Promise<string | null> {
    return this.#write({ botName }, (db) => {
      const jti = this.#revoke(db, botName, actor, at, null);
      return { result: jti, changed: jti !== null };
    });
  }

  getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    return this.#read((db) => {
      const row = db
        .prepare(`SELECT ${TOKEN_COLUMNS} FROM bot_tokens WHERE bot_name = ? AND revoked_at IS NULL`)
        .get(botName) as TokenRow | undefined;
      return row === undefined ? null : tokenFromRow(row);
    });
  }

  listCurrentTokens(): Promise<BotTokenRecord[]> {
    return this.#read((db) =>
      (
        db
          .prepare(`SELECT ${TOKEN_COLUMNS} FROM bot_tokens WHERE revoked_at IS NULL ORDER BY bot_name`)
          .all() as TokenRow[]
      ).map(tokenFromRow),
    );
  }

  recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void> {
    const latest = latestUses(uses);
    if (latest.size === 0) return Promise.resolve();
    return this.#read((db) => {
      const updates = ['bot_tokens', 'personal_tokens'].map((table) =>
        db.prepare(
          `UPDATE ${table} SET last_used_at = ? WHERE jti = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
        ),
      );
      db.transaction(() => {
        for (const [jti, at] of latest) for (const update of updates) update.run(at, jti, at);
      }).immediate();
    });
  }

  issuePersonalToken(token: PersonalTokenRecord, actor: string, limit: number): Promise<void> {
    // The write transaction is BEGIN IMMEDIATE: no other connection writes between count and insert.
    return this.#write({ userName: token.userName }, (db) => {
      if (db.prepare('SELECT 1 FROM personal_tokens WHERE jti = ?').get(token.jti) !== undefined) {
        throw conflict(`Token id "${token.jti}" is already used.`);
      }
      const live = db
        .prepare(
          'SELECT COUNT(*) FROM personal_tokens WHERE user_name = ? AND revoked_at IS NULL ' +
            'AND (expires_at IS NULL OR expires_at > ?)',
        )
        .pluck()
        .get(token.userName, token.issuedAt) as number;
      if (live >= limit) throw personalTokenLimitReached(limit);
      db.prepare(
        `INSERT INTO personal_tokens (${PERSONAL_TOKEN_INSERT_COLUMNS}) VALUES (${placeholders(12, 'sqlite')})`,
      ).run(...personalTokenInsertValues(token));
      this.#log(
        db,
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
    return this.#write({ userName }, (db) => {
      const revoked = (
        jtis === 'all'
          ? db
              .prepare(
                'UPDATE personal_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL RETURNING jti',
              )
              .pluck()
              .all(at, userName)
          : db
              .prepare(
                'UPDATE personal_tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL ' +
                  'AND jti IN (SELECT value FROM json_each(?)) RETURNING jti',
              )
              .pluck()
              .all(at, userName, JSON.stringify(jtis))
      ) as string[];
      for (const jti of revoked) this.#log(db, at, actor, 'personal-token.revoke', '', jti, null, userName);
      return { result: revoked, changed: revoked.length > 0 };
    });
  }

  listPersonalTokens(userName: string): Promise<PersonalTokenRecord[]> {
    return this.#read((db) =>
      (
        db
          .prepare(
            `SELECT ${PERSONAL_TOKEN_COLUMNS} FROM personal_tokens WHERE user_name = ? AND revoked_at IS NULL ` +
              'ORDER BY issued_at DESC, jti',
          )
          .all(userName) as PersonalTokenRow[]
      ).map(personalTokenFromRow),
    );
  }

  listLivePersonalTokens(at: number, userName?: string): Promise<LivePersonalToken[]> {
    const live = 'revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)';
    return this.#read(
      (db) =>
        (userName === undefined
          ? db.prepare(`SELECT ${LIVE_PERSONAL_TOKEN_COLUMNS} FROM personal_tokens WHERE ${live}`).all(at)
          : db
              .prepare(
                `SELECT ${LIVE_PERSONAL_TOKEN_COLUMNS} FROM personal_tokens WHERE user_name = ? AND ${live}`,
              )
              .all(userName, at)) as LivePersonalToken[],
    );
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (opts?.botName !== undefined) {
      conditions.push('bot_name = ?');
      values.push(opts.botName);
    }
    if (opts?.userName !== undefined) {
      conditions.push('user_name = ?');
      values.push(opts.userName);
    }
    const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    return this.#read(
      (db) =>
        db
          .prepare(`SELECT ${AUDIT_COLUMNS} FROM audit_log ${where} ORDER BY id DESC LIMIT ?`)
          .all(...values, auditLimit(opts)) as AuditEntry[],
    );
  }

  /**
   * One upsert: inserts the key, or takes over an expired one; a key still inside its window is left
   * alone and reported as a replay. Not a registry change: no `changes` row, no listener.
   */
  claimDpopProof(key: string, expiresAt: number, now: number): Promise<boolean> {
    return this.#read((db) => {
      if (now >= this.#dpopPruneAt) {
        this.#dpopPruneAt = now + DPOP_PRUNE_INTERVAL_MS;
        db.prepare('DELETE FROM dpop_proofs WHERE expires_at <= ?').run(now);
      }
      const claimed = db
        .prepare(
          'INSERT INTO dpop_proofs (key, expires_at) VALUES (?, ?) ON CONFLICT (key) ' +
            'DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= ?',
        )
        .run(key, expiresAt, now);
      return claimed.changes === 1;
    });
  }

  /** `false` after several failed polls in a row (others' changes may be missed), `true` once back. */
  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  #bot(db: Database.Database, name: string): BotRecord | null {
    const row = db.prepare(`SELECT ${BOT_COLUMNS} FROM bots WHERE name = ?`).get(name) as BotRow | undefined;
    return row === undefined ? null : botFromRow(row);
  }

  /** Revokes the bot's current token, if any, with its audit row. Returns its jti. */
  #revoke(
    db: Database.Database,
    botName: string,
    actor: string,
    at: number,
    detail: string | null,
  ): string | null {
    const row = db
      .prepare('UPDATE bot_tokens SET revoked_at = ? WHERE bot_name = ? AND revoked_at IS NULL RETURNING jti')
      .get(at, botName) as { jti: string } | undefined;
    if (row === undefined) return null;
    this.#log(db, at, actor, 'token.revoke', botName, row.jti, detail);
    return row.jti;
  }

  #log(
    db: Database.Database,
    at: number,
    actor: string,
    action: AuditAction,
    botName: string,
    jti: string | null,
    detail: string | null,
    userName: string | null = null,
  ): void {
    db.prepare(
      'INSERT INTO audit_log (at, actor, action, bot_name, user_name, jti, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(at, actor, action, botName, userName, jti, detail);
  }

  #read<T>(query: (db: Database.Database) => T): Promise<T> {
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
  #write<T>(
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
