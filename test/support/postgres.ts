import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL the tests use (trust auth, database `test`). Override with TEST_DATABASE_URL. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

const HOW_TO_START =
  'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

let reachable: Promise<boolean> | undefined;

/** Whether the test server answers (asked once per run). */
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 1500 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/**
 * Call from a `before` hook: skips the suite when PostgreSQL is down — but fails it when `CI` is
 * set, so a CI run can never pass without having tested PostgreSQL.
 */
export async function requirePostgres(ctx: Mocha.Context): Promise<void> {
  if (await postgresReachable()) return;
  const message = `PostgreSQL is not reachable at ${TEST_DATABASE_URL}; ${HOW_TO_START}`;
  if (process.env.CI) throw new Error(`${message} (CI is set, so this fails instead of skipping)`);
  console.warn(`      skipping: ${message}`);
  ctx.skip();
}

/** A fresh schema name for one test: `jwt_gate_test_<random>`. */
export function testSchemaName(): string {
  return `jwt_gate_test_${randomBytes(5).toString('hex')}`;
}

/** Runs `sql` on a short-lived connection of its own. */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  values?: unknown[],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Drops the given test schemas (and everything in them). */
export async function dropSchemas(schemas: Iterable<string>): Promise<void> {
  for (const schema of schemas) await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
