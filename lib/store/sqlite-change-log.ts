import type Database from 'better-sqlite3';
import { changeFromKey, changeKey } from './store-helpers.js';
import { ALL_BOTS } from './types.js';
import type { StoreChange } from './types.js';

/** Rows of the `changes` log older than this are pruned; a reader further behind resyncs fully. */
const CHANGE_RETENTION_MS = 60 * 60 * 1000;

/** The statements of one connection, prepared once: `poll` runs before every bot-token check. */
interface Statements {
  dataVersion: Database.Statement<[], number>;
  rowsAfter: Database.Statement<[number], { seq: number; botName: string }>;
  prune: Database.Statement<[number]>;
  insert: Database.Statement<[string, number]>;
}

/**
 * Tells one SQLite connection which bots and people other connections changed. Every write appends
 * its change's key (`changeKey`: a bot's name, `user:<name>` for a person) to the `changes` table (monotonic `seq`) in its own transaction; readers poll
 * `PRAGMA data_version`, which moves only when *another* connection commits, and read the new rows
 * only then — so an idle poll costs one pragma (a prepared statement: `db.pragma()` would compile
 * it again on every call).
 */
export class SqliteChangeLog {
  #statements: Statements | undefined;
  /** data_version at the last poll. */
  #dataVersion = -1;
  /** Highest `seq` already accounted for. */
  #lastSeq = 0;
  /** Own rows written after a foreign one not yet polled: skipped (already emitted) when reached. */
  readonly #ownSeqs = new Set<number>();

  /** Takes the current position as the starting point: earlier changes are not replayed. */
  start(db: Database.Database): void {
    this.#statements = {
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      rowsAfter: db.prepare<[number], { seq: number; botName: string }>(
        'SELECT seq, bot_name AS botName FROM changes WHERE seq > ? ORDER BY seq',
      ),
      prune: db.prepare<[number]>('DELETE FROM changes WHERE at < ?'),
      insert: db.prepare<[string, number]>('INSERT INTO changes (bot_name, at) VALUES (?, ?)'),
    };
    this.#dataVersion = this.#statements.dataVersion.get()!;
    // sqlite_sequence, not MAX(seq): the log may have been pruned empty.
    const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as
      { seq: number } | undefined;
    this.#lastSeq = row?.seq ?? 0;
    this.#ownSeqs.clear();
  }

  /** Appends a change row; call inside the writing transaction. Returns its `seq`. */
  append(change: StoreChange): number {
    const { prune, insert } = this.#prepared();
    const now = Date.now();
    prune.run(now - CHANGE_RETENTION_MS);
    return Number(insert.run(changeKey(change), now).lastInsertRowid);
  }

  /** Records that our own committed row `seq` was already emitted, so `poll` skips it. */
  committed(seq: number): void {
    // Contiguous with what we have accounted for: nothing foreign in between, just move on.
    if (seq === this.#lastSeq + 1) this.#lastSeq = seq;
    else this.#ownSeqs.add(seq);
  }

  /** Changes by other connections since the last poll, each once (`ALL_BOTS` after a pruned gap). */
  poll(): StoreChange[] {
    const { dataVersion, rowsAfter } = this.#prepared();
    const version = dataVersion.get()!;
    if (version === this.#dataVersion) return [];
    const rows = rowsAfter.all(this.#lastSeq);
    this.#dataVersion = version;
    const first = rows[0];
    if (first === undefined) return [];
    // Rows we never saw were pruned (this process stalled for a long time): reload everything.
    const gap = first.seq > this.#lastSeq + 1;
    const changed = new Set<string>();
    for (const { seq, botName } of rows) {
      if (!this.#ownSeqs.delete(seq)) changed.add(botName);
      this.#lastSeq = seq;
    }
    return gap ? [{ botName: ALL_BOTS }] : [...changed].map(changeFromKey);
  }

  #prepared(): Statements {
    if (this.#statements === undefined) throw new Error('SqliteChangeLog: call start() first.');
    return this.#statements;
  }
}
