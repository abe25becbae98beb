import type Database from 'better-sqlite3';
import { ALL_BOTS } from './types.js';

/** Rows of the `changes` log older than this are pruned; a reader further behind resyncs fully. */
const CHANGE_RETENTION_MS = 60 * 60 * 1000;

/**
 * Tells one SQLite connection which bots other connections changed. Every write appends the bot's
 * name to the `changes` table (monotonic `seq`) in its own transaction; readers poll
 * `PRAGMA data_version`, which moves only when *another* connection commits, and read the new rows
 * only then — so an idle poll costs one pragma.
 */
export class SqliteChangeLog {
  /** data_version at the last poll. */
  #dataVersion = -1;
  /** Highest `seq` already accounted for. */
  #lastSeq = 0;
  /** Own rows written after a foreign one not yet polled: skipped (already emitted) when reached. */
  readonly #ownSeqs = new Set<number>();

  /** Takes the current position as the starting point: earlier changes are not replayed. */
  start(db: Database.Database): void {
    this.#dataVersion = db.pragma('data_version', { simple: true }) as number;
    // sqlite_sequence, not MAX(seq): the log may have been pruned empty.
    const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").get() as
      { seq: number } | undefined;
    this.#lastSeq = row?.seq ?? 0;
  }

  /** Appends a change row; call inside the writing transaction. Returns its `seq`. */
  append(db: Database.Database, botName: string): number {
    const now = Date.now();
    db.prepare('DELETE FROM changes WHERE at < ?').run(now - CHANGE_RETENTION_MS);
    return Number(
      db.prepare('INSERT INTO changes (bot_name, at) VALUES (?, ?)').run(botName, now).lastInsertRowid,
    );
  }

  /** Records that our own committed row `seq` was already emitted, so `poll` skips it. */
  committed(seq: number): void {
    // Contiguous with what we have accounted for: nothing foreign in between, just move on.
    if (seq === this.#lastSeq + 1) this.#lastSeq = seq;
    else this.#ownSeqs.add(seq);
  }

  /** Bots changed by other connections since the last poll (`ALL_BOTS` after a pruned gap). */
  poll(db: Database.Database): string[] {
    const version = db.pragma('data_version', { simple: true }) as number;
    if (version === this.#dataVersion) return [];
    const rows = db
      .prepare('SELECT seq, bot_name AS botName FROM changes WHERE seq > ? ORDER BY seq')
      .all(this.#lastSeq) as Array<{ seq: number; botName: string }>;
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
    return gap ? [ALL_BOTS] : [...changed];
  }
}
