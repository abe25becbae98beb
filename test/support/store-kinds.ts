/**
 * One suite per store the docs offer — memory, SQLite, PostgreSQL — so that every promise about
 * tokens is tested on each:
 *
 *   describeEachStore((kind) => {
 *     let store: BotStore;
 *     beforeEach(() => { store = kind.open(); });
 *     afterEach(() => store.close());
 *     it('…', …);
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../lib/store/memory-store.js';
import { PostgresStore } from '../../lib/store/postgres-store.js';
import { SqliteStore } from '../../lib/store/sqlite-store.js';
import type { BotStore } from '../../lib/store/types.js';
import { dropSchemas, requirePostgres, TEST_DATABASE_URL, testSchemaName } from './postgres.js';

export interface StoreKind {
  name: 'memory' | 'SQLite' | 'PostgreSQL';
  /** A fresh, empty store of this kind: a new file, a new schema. The caller closes it. */
  open(): BotStore;
}

/**
 * Declares `suite` in a `describe('on the <kind> store')` for each kind. PostgreSQL's is skipped
 * when the server is down, and fails instead under `CI`. Files and schemas go after the suites.
 */
export function describeEachStore(suite: (kind: StoreKind) => void): void {
  let dir: string | undefined;
  const schemas: string[] = [];
  after(async function () {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    await dropSchemas(schemas.splice(0));
  });
  const kinds: StoreKind[] = [
    { name: 'memory', open: () => new MemoryStore() },
    {
      name: 'SQLite',
      open: () => {
        dir ??= mkdtempSync(join(tmpdir(), 'jwt-gate-stores-'));
        return new SqliteStore({ path: join(dir, `${testSchemaName()}.db`) });
      },
    },
    {
      name: 'PostgreSQL',
      open: () => {
        const schema = testSchemaName();
        schemas.push(schema);
        return new PostgresStore({ url: TEST_DATABASE_URL, schema });
      },
    },
  ];
  for (const kind of kinds) {
    describe(`on the ${kind.name} store`, function () {
      if (kind.name === 'PostgreSQL') {
        before(async function () {
          await requirePostgres(this);
        });
      }
      suite(kind);
    });
  }
}
