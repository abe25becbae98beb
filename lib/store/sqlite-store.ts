// The embedded store's SQL: bots, bot tokens, personal tokens, the audit log and DPoP proofs in one
// SQLite file. Opening, the write transactions, change delivery and health are the connection's
// (`sqlite-connection.ts`).
import type Database from 'better-sqlite3';
import { conflict, notFound } from '../errors.js';
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
import { SqliteConnection } from './sqlite-connection.js';
import type { SqliteStoreOptions } from './sqlite-connection.js';
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

export type { SqliteStoreOptions } from './sqlite-connection.js';

type BotRow = Parameters<typeof botFromRow>[0];
type TokenRow = Parameters<typeof tokenFromRow>[0];
type PersonalTokenRow = Parameters<typeof personalTokenFromRow>[0];

/** The DPoP replay claim's statements, and the connection they were compiled on. */
interface DpopStatements {
  db: Database.Database;
  prune: Database.Statement<[number]>;
  claim: Database.Statement<[string, number, number]>;
}

/**
 * The embedded store: one SQLite file (WAL mode), shareable by several processes on one machine,
 * e.g. the app and the `jwt-gate` CLI. Writes are `BEGIN IMMEDIATE` transactions; each also appends
 * to a `changes` log that other processes find by reading the cheap `PRAGMA data_version` — on a
 * timer, and on demand (`syncChanges`) before every bot-token check.
 */
export class SqliteStore implements BotStore {
  readonly kind = 'sqlite';
  readonly #db: SqliteConnection;
  /** When expired DPoP proofs are next pruned (the `now` of claims, epoch ms). */
  #dpopPruneAt = 0;
  #dpop: DpopStatements | undefined;

  constructor(options: SqliteStoreOptions) {
    this.#db = new SqliteConnection(options);
  }

  /** Loads the driver (`better-sqlite3`, an optional peer dependency), opens the file, migrates it. */
  init(): Promise<void> {
    return this.#db.init();
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  listBots(): Promise<BotRecord[]> {
    return this.#db.read((db) =>
      (db.prepare(`SELECT ${BOT_COLUMNS} FROM bots ORDER BY name`).all() as BotRow[]).map(botFromRow),
    );
  }

  getBot(name: string): Promise<BotRecord | null> {
    return this.#db.read((db) => this.#bot(db, name));
  }

  createBot(bot: BotRecord): Promise<void> {
    return this.#db.write({ botName: bot.name }, (db) => {
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
    return this.#db.write({ botName: name }, (db) => {
      const updated = db
        .prepare('UPDATE bots SET allowed_scopes = ? WHERE name = ?')
        .run(scopesColumn(allowedScopes), name);
      if (updated.changes !== 1) return { result: false, changed: false };
      this.#log(db, at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return { result: true, changed: true };
    });
  }

  setRequireDpop(name: string, requireDpop: boolean, actor: string, at: number): Promise<boolean> {
    return this.#db.write({ botName: name }, (db) => {
      const updated = db
        .prepare('UPDATE bots SET require_dpop = ? WHERE name = ?')
        .run(flagColumn(requireDpop), name);
      if (updated.changes !== 1) return { result: false, changed: false };
      this.#log(db, at, actor, 'bot.update', name, null, requireDpopDetail(requireDpop));
      return { result: true, changed: true };
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    return this.#db.write({ botName: name }, (db) => {
      if (this.#bot(db, name) === null) return { result: false, changed: false };
      this.#revoke(db, name, actor, at, BOT_DELETED_DETAIL);
      db.prepare('DELETE FROM bots WHERE name = ?').run(name);
      this.#log(db, at, actor, 'bot.delete', name, null, null);
      return { result: true, changed: true };
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#db.write({ botName: token.botName }, (db) => {
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
    return this.#db.write({ botName }, (db) => {
      const jti = this.#revoke(db, botName, actor, at, null);
      return { result: jti, changed: jti !== null };
    });
  }

  getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    return this.#db.read((db) => {
      const row = db
        .prepare(`SELECT ${TOKEN_COLUMNS} FROM bot_tokens WHERE bot_name = ? AND revoked_at IS NULL`)
        .get(botName) as TokenRow | undefined;
      return row === undefined ? null : tokenFromRow(row);
    });
  }

  listCurrentTokens(): Promise<BotTokenRecord[]> {
    return this.#db.read((db) =>
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
    return this.#db.read((db) => {
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
    return this.#db.write({ userName: token.userName }, (db) => {
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
    return this.#db.write({ userName }, (db) => {
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
    return this.#db.read((db) =>
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
    return this.#db.read(
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
    return this.#db.read(
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
    return this.#db.read((db) => {
      const statements = this.#dpopStatements(db);
      if (now >= this.#dpopPruneAt) {
        this.#dpopPruneAt = now + DPOP_PRUNE_INTERVAL_MS;
        statements.prune.run(now);
      }
      return statements.claim.run(key, expiresAt, now).changes === 1;
    });
  }

  /** The replay claim's statements, compiled once per connection: a claim runs on every DPoP request. */
  #dpopStatements(db: Database.Database): DpopStatements {
    if (this.#dpop?.db !== db) {
      this.#dpop = {
        db,
        prune: db.prepare<[number]>('DELETE FROM dpop_proofs WHERE expires_at <= ?'),
        claim: db.prepare<[string, number, number]>(
          'INSERT INTO dpop_proofs (key, expires_at) VALUES (?, ?) ON CONFLICT (key) ' +
            'DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= ?',
        ),
      };
    }
    return this.#dpop;
  }

  /** `false` after several failed polls in a row (others' changes may be missed), `true` once back. */
  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#db.onHealth(listener);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#db.onChange(listener);
  }

  /** Delivers other processes' committed changes to `onChange` listeners now (see the connection's). */
  syncChanges(): void {
    this.#db.syncChanges();
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
}
