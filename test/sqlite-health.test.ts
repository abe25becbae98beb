import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import type { StoreChange } from '../lib/store/types.js';

/** Resolves once `check()` holds, polling every 10 ms; rejects after `ms`. */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SQLite store: change polling health', function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-sqlite-health-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports itself unhealthy when it cannot read others’ changes, and resyncs everything when it can again', async function () {
    const path = join(dir, 'bots.db');
    const writer = new SqliteStore({ path });
    const reader = new SqliteStore({ path, pollIntervalMs: 20 });
    await writer.init();
    await reader.init();
    const health: boolean[] = [];
    const changes: StoreChange[] = [];
    reader.onHealth((up) => health.push(up));
    reader.onChange((change) => changes.push(change));
    try {
      // Another process breaks the change log (here: renames it); the reader's polls now fail.
      const raw = new Database(path);
      raw.exec('ALTER TABLE changes RENAME TO changes_moved');
      await until(() => health.includes(false));
      assert.deepEqual(health, [false], 'unhealthy once, after several failed polls');
      raw.exec('ALTER TABLE changes_moved RENAME TO changes');
      raw.close();
      await until(() => health.length === 2);
      assert.deepEqual(health, [false, true]);
      assert.ok(
        changes.some((c) => c.botName === '*'),
        'everything is reloaded: changes in between may have been missed',
      );
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
