import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import Database from 'better-sqlite3';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigError, ServiceUnavailableError } from '../lib/errors.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { openStore } from '../lib/store/open-store.js';
import { postgresMigrations } from '../lib/store/postgres-migrations.js';
import { PostgresStore } from '../lib/store/postgres-store.js';
import { SQLITE_MIGRATIONS } from '../lib/store/sqlite-migrations.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { hashToken, tokenLast4 } from '../lib/store/token-hash.js';
import { personalToken } from './support/personal-token-contract.js';
import { T0, bot, contract, isConflict, mint, nextChange } from './support/store-contract.js';
import {
  TEST_DATABASE_URL,
  adminQuery,
  dropSchemas,
  requirePostgres,
  testSchemaName,
} from './support/postgres.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const isUnavailable = (error: unknown): boolean =>
  error instanceof ServiceUnavailableError && error.code === 'ERR_STORE_UNAVAILABLE' && error.status === 503;

const tmpDirs: string[] = [];
const schemas: string[] = [];
after(async () => {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  if (schemas.length > 0) await dropSchemas(schemas);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-store-'));
  tmpDirs.push(dir);
  return dir;
}

function pgStore(schema: string, extra: { minBackoffMs?: number } = {}): PostgresStore {
  if (!schemas.includes(schema)) schemas.push(schema);
  return new PostgresStore({ url: TEST_DATABASE_URL, schema, ...extra });
}

describe('bot store', () => {
  describe('token hash', () => {
    it('hashes with SHA-256 (hex) and keeps the last 4 characters for display', () => {
      assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      assert.equal(tokenLast4('eyJhbGciOi.payload.sig-XyZ9'), 'XyZ9');
    });
  });

  describe('openStore', () => {
    it('picks the store from database.url', () => {
      const dir = tempDir();
      assert.ok(openStore('memory:') instanceof MemoryStore);
      assert.equal(openStore('sqlite:./data/a.db', { baseDir: dir }).kind, 'sqlite');
      assert.equal(openStore(`sqlite:${join(dir, 'b.db')}`).kind, 'sqlite');
      assert.equal(openStore('postgres://u@127.0.0.1/test').kind, 'postgres');
      assert.equal(openStore('postgresql://u@127.0.0.1/test', { schema: 'custom_schema' }).kind, 'postgres');
    });

    it('resolves relative sqlite paths against baseDir and creates the directory', async () => {
      const dir = tempDir();
      const store = openStore('sqlite:./nested/dir/jwt-gate.db', { baseDir: dir });
      await store.init();
      await store.close();
      assert.deepEqual(
        readdirSync(join(dir, 'nested', 'dir')).filter((f) => f.endsWith('.db')),
        ['jwt-gate.db'],
      );
    });

    it('rejects anything else naming database.url (DATABASE_URL), without echoing secrets', () => {
      const matcher = (error: unknown) =>
        error instanceof ConfigError &&
        error.code === 'ERR_CONFIG_INVALID' &&
        error.message.includes('database.url (DATABASE_URL)') &&
        !error.message.includes('s3cret');
      assert.throws(() => openStore('mysql://root:s3cret@db/x'), matcher);
      assert.throws(() => openStore('sqlite:'), matcher);
      assert.throws(() => openStore('./jwt-gate.db'), matcher);
      assert.throws(() => openStore('postgres://u@h/db', { schema: 'Bad-Schema' }), ConfigError);
    });
  });

  contract('memory', async () => {
    const store = openStore('memory:');
    await store.init();
    return store;
  });

  contract('sqlite', async () => {
    const store = openStore(`sqlite:${join(tempDir(), 'jwt-gate.db')}`);
    await store.init();
    return store;
  });

  contract(
    'postgres',
    async () => {
      const store = pgStore(testSchemaName());
      await store.init();
      return store;
    },
    requirePostgres,
  );

  describe('sqlite store: one file, several processes', () => {
    let path: string;
    const open: SqliteStore[] = [];
    beforeEach(() => {
      path = join(tempDir(), 'db', 'jwt-gate.db');
    });
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
    });
    async function sqlite(): Promise<SqliteStore> {
      const store = new SqliteStore({ path });
      open.push(store);
      await store.init();
      return store;
    }

    it('keeps bots and tokens across close and reopen', async () => {
      const first = await sqlite();
      await first.createBot(bot('ingestion-bot'));
      const { record } = mint('ingestion-bot');
      await first.issueToken(record, 'admin');
      await first.close();
      const reopened = openStore(`sqlite:${path}`);
      await reopened.init();
      try {
        assert.deepEqual(await reopened.listBots(), [bot('ingestion-bot')]);
        assert.deepEqual(await reopened.getCurrentToken('ingestion-bot'), record);
        assert.equal((await reopened.listAudit()).length, 2);
      } finally {
        await reopened.close();
      }
    });

    it('never writes the token to the file, only its hash', async () => {
      const store = await sqlite();
      await store.createBot(bot('ingestion-bot'));
      const { token, record } = mint('ingestion-bot');
      await store.issueToken(record, 'admin');
      await store.close();
      const bytes = readdirSync(join(path, '..'))
        .map((f) => readFileSync(join(path, '..', f)).toString('latin1'))
        .join('');
      assert.ok(bytes.includes(record.tokenHash), 'the hash is stored');
      assert.ok(!bytes.includes(token) && !bytes.includes(token.split('.')[2]!), 'the token is not');
    });

    it("delivers another instance's changes to onChange, not its own twice", async () => {
      const app = await sqlite();
      const cli = await sqlite();
      await cli.createBot(bot('ingestion-bot'));
      await cli.issueToken(mint('ingestion-bot').record, 'admin');
      const seen: string[] = [];
      app.onChange((c) => seen.push(c.botName ?? `user:${c.userName}`));
      const revoked = nextChange(app, (c) => c.botName === 'ingestion-bot');
      await cli.revokeToken('ingestion-bot', 'cli', Date.now());
      await revoked; // delivered by the poll, no sleep
      assert.equal(await app.getCurrentToken('ingestion-bot'), null);
      await app.createBot(bot('own-bot'));
      // Poll now, as a request would: our own change is not delivered a second time.
      app.syncChanges();
      app.syncChanges();
      assert.deepEqual(seen, ['ingestion-bot', 'own-bot']);
    });

    it('two processes issuing tokens for one bot at once leave exactly one current token', async () => {
      const store = await sqlite();
      await store.createBot(bot('ingestion-bot'));
      const child = `
        const { openStore } = await import(${JSON.stringify(join(ROOT, 'lib/store/open-store.ts'))});
        const { randomUUID } = await import('node:crypto');
        const store = openStore(${JSON.stringify(`sqlite:${path}`)});
        await store.init();
        for (let i = 0; i < 30; i++) {
          await store.issueToken({ botName: 'ingestion-bot', jti: randomUUID(), tokenHash: 'h', last4: 'abcd',
            expiry: '7', issuedAt: Date.now(), expiresAt: null, issuedBy: 'child', lastUsedAt: null, revokedAt: null, scopes: null, dpopJkt: null }, 'child');
        }
        await store.close();`;
      const running = promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', child],
        {
          cwd: ROOT,
        },
      );
      let childDone = false;
      const finished = running.finally(() => (childDone = true));
      // Keep issuing for as long as the child runs, so the two processes really contend.
      let parentIssues = 0;
      while (!childDone) {
        await store.issueToken(mint('ingestion-bot', { issuedAt: Date.now() }).record, 'parent');
        parentIssues++;
        await new Promise((r) => setTimeout(r, 2));
      }
      await finished;
      assert.equal((await store.listCurrentTokens()).length, 1);
      const raw = new Database(path, { readonly: true });
      try {
        const count = (sql: string): unknown => (raw.prepare(sql).get() as { n: number }).n;
        assert.equal(count('SELECT COUNT(*) AS n FROM bot_tokens'), 30 + parentIssues);
        assert.equal(count("SELECT COUNT(*) AS n FROM bot_tokens WHERE issued_by = 'child'"), 30);
        assert.equal(count('SELECT COUNT(*) AS n FROM bot_tokens WHERE revoked_at IS NULL'), 1);
      } finally {
        raw.close();
      }
    });

    it("tells another instance of a person's token changes; the limit and DPoP proofs hold across connections", async () => {
      const a = await sqlite();
      const b = await sqlite();
      const seenByB: unknown[] = [];
      b.onChange((c) => seenByB.push(c));
      await a.issuePersonalToken(personalToken('alice'), 'alice', 2);
      b.syncChanges();
      assert.deepEqual(seenByB, [{ userName: 'alice' }], 'decoded: the log key never shows');
      const results = await Promise.allSettled([
        a.issuePersonalToken(personalToken('alice'), 'alice', 2),
        b.issuePersonalToken(personalToken('alice'), 'alice', 2),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected'],
      );
      assert.equal((await b.listPersonalTokens('alice')).length, 2);
      b.syncChanges();
      seenByB.length = 0;

      const now = Date.now();
      assert.equal(await a.claimDpopProof('proof', now + 60_000, now), true);
      assert.equal(await b.claimDpopProof('proof', now + 60_000, now + 1), false, 'a replay on the other');
      assert.equal(await b.claimDpopProof('proof', now + 120_000, now + 60_000), true, 'once expired');
      a.syncChanges();
      b.syncChanges();
      assert.deepEqual(seenByB, [], 'proofs are not in the change log');
    });

    it('lists 100,000 live personal tokens as lean rows (jti, userName)', async () => {
      const store = await sqlite();
      const raw = new Database(path);
      try {
        raw
          .prepare(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
             INSERT INTO personal_tokens (jti, user_name, token_name, token_hash, last4, expiry, issued_at,
               expires_at, issued_by, scopes)
             SELECT 'jti-' || i, 'user-' || (i % 5000), 'cli', 'h', 'abcd', '7', ?, ?, 'x', 'tables:read' FROM n`,
          )
          .run(T0, Date.now() + 86_400_000);
      } finally {
        raw.close();
      }
      // How fast is bench/README.md's (personal-scale); here, that each row is the lean shape.
      const live = await store.listLivePersonalTokens(Date.now());
      assert.equal(live.length, 100_000);
      assert.deepEqual(Object.keys(live[0]!).sort(), ['jti', 'userName']);
    });

    it('migrates a version 2 database with bots, tokens and audit rows to version 3', async () => {
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path);
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      db.exec(SQLITE_MIGRATIONS[0]!);
      db.exec(SQLITE_MIGRATIONS[1]!);
      db.prepare('INSERT INTO schema_version VALUES (1, 0), (2, 0)').run();
      db.prepare("INSERT INTO bots VALUES ('old-bot', 'Old', '', 0, 'admin', 'tables:read')").run();
      db.prepare(
        "INSERT INTO bot_tokens VALUES ('j1', 'old-bot', 'h', 'abcd', '7', 0, NULL, 'admin', NULL, NULL, 'tables:read')",
      ).run();
      db.prepare(
        "INSERT INTO audit_log (at, actor, action, bot_name) VALUES (0, 'admin', 'bot.create', 'old-bot')",
      ).run();
      db.close();
      const store = await sqlite();
      assert.deepEqual(await store.getBot('old-bot'), {
        ...bot('old-bot', { displayName: 'Old', description: '', createdAt: 0 }),
        allowedScopes: ['tables:read'],
      });
      assert.deepEqual(
        [(await store.getCurrentToken('old-bot'))?.jti, (await store.getCurrentToken('old-bot'))?.dpopJkt],
        ['j1', null],
      );
      assert.deepEqual(
        (await store.listAudit()).map((e) => [e.action, e.botName, e.userName]),
        [['bot.create', 'old-bot', null]],
      );
      await store.issuePersonalToken(personalToken('alice'), 'alice', 1);
      const raw = new Database(path, { readonly: true });
      try {
        assert.equal(raw.prepare('SELECT MAX(version) FROM schema_version').pluck().get(), 3);
      } finally {
        raw.close();
      }
    });
  });

  describe('postgres store: several instances, one schema', function () {
    const open: PostgresStore[] = [];
    let schema: string;
    before(async function () {
      await requirePostgres(this);
    });
    beforeEach(() => {
      schema = testSchemaName();
    });
    afterEach(async () => {
      for (const store of open.splice(0)) await store.close();
    });
    function instance(extra: { minBackoffMs?: number } = {}): PostgresStore {
      const store = pgStore(schema, extra);
      open.push(store);
      return store;
    }

    it('runs migrations from two instances at once, then shares state', async () => {
      const a = instance();
      const b = instance();
      await Promise.all([a.init(), b.init()]);
      const versions = await adminQuery<{ version: number }>(
        `SELECT version FROM "${schema}".schema_version`,
      );
      assert.deepEqual(versions, [{ version: 1 }, { version: 2 }, { version: 3 }]);
      await a.createBot(bot('ingestion-bot'));
      await assert.rejects(b.createBot(bot('ingestion-bot')), isConflict);
      const c = instance();
      await c.init(); // idempotent on an up-to-date schema
      assert.deepEqual(await c.listBots(), [bot('ingestion-bot')]);
    });

    it("delivers a revoke on one instance to the other's onChange, and never its own twice", async () => {
      const a = instance();
      const b = instance();
      await a.init();
      await b.init();
      await a.createBot(bot('ingestion-bot'));
      await a.issueToken(mint('ingestion-bot').record, 'admin');
      const seenByA: string[] = [];
      a.onChange((c) => seenByA.push(c.botName ?? `user:${c.userName}`));
      const received = nextChange(b, (c) => c.botName === 'ingestion-bot');
      await a.revokeToken('ingestion-bot', 'admin', Date.now());
      await received; // delivered by the notification, no sleep
      assert.equal(await b.getCurrentToken('ingestion-bot'), null);
      // Notifications arrive in commit order: once A hears B's later change, a second copy of its
      // own would already have arrived.
      const later = nextChange(a, (c) => c.botName === 'from-b');
      await b.createBot(bot('from-b'));
      await later;
      assert.deepEqual(
        seenByA,
        ['ingestion-bot', 'from-b'],
        'an instance does not hear its own notification twice',
      );
    });

    it('reports a lost notification connection, reconnects, and asks for a full resync', async () => {
      const a = instance({ minBackoffMs: 50 });
      const b = instance();
      await a.init();
      await b.init();
      const events: string[] = [];
      a.onHealth((healthy) => events.push(`health:${healthy}`));
      a.onChange((c) => events.push(`change:${c.botName}`));
      const back = new Promise<void>((resolve) => a.onHealth((healthy) => healthy && resolve()));
      const killed = await adminQuery(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [`jwt-gate-listen:${schema}`],
      );
      assert.equal(killed.length, 2, 'both instances have a listening connection');
      await back;
      assert.deepEqual(events, ['health:false', 'change:*', 'health:true']);
      const relayed = nextChange(a, (c) => c.botName === 'after-reconnect');
      await b.createBot(bot('after-reconnect'));
      await relayed;
    });

    it("tells another instance of a person's token changes; the limit and DPoP proofs hold across instances", async () => {
      const a = instance();
      const b = instance();
      await a.init();
      await b.init();
      const told = nextChange(b, (c) => c.userName === 'alice');
      await a.issuePersonalToken(personalToken('alice'), 'alice', 2);
      assert.deepEqual(await told, { userName: 'alice' });
      const results = await Promise.allSettled([
        a.issuePersonalToken(personalToken('alice'), 'alice', 2),
        b.issuePersonalToken(personalToken('alice'), 'alice', 2),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((await b.listPersonalTokens('alice')).length, 2);

      const now = Date.now();
      const claims = await Promise.all([
        a.claimDpopProof('proof', now + 60_000, now),
        b.claimDpopProof('proof', now + 60_000, now),
      ]);
      assert.deepEqual(claims.sort(), [false, true], 'one claim wins, the other is a replay');
      assert.equal(await b.claimDpopProof('proof', now + 120_000, now + 60_000), true, 'once expired');
    });

    it('migrates a version 2 schema with bots, tokens and audit rows to version 3', async () => {
      const s = `"${schema}"`;
      const [v1, v2] = postgresMigrations(s);
      await adminQuery(`CREATE SCHEMA ${s}`);
      await adminQuery(v1!);
      await adminQuery(v2!);
      await adminQuery(
        `CREATE TABLE ${s}.schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
      );
      await adminQuery(`INSERT INTO ${s}.schema_version VALUES (1, 0), (2, 0)`);
      await adminQuery(`INSERT INTO ${s}.bots VALUES ('old-bot', 'Old', '', 0, 'admin', 'tables:read')`);
      await adminQuery(
        `INSERT INTO ${s}.bot_tokens VALUES ('j1', 'old-bot', 'h', 'abcd', '7', 0, NULL, 'admin', NULL, NULL, NULL)`,
      );
      await adminQuery(
        `INSERT INTO ${s}.audit_log (at, actor, action, bot_name) VALUES (0, 'admin', 'bot.create', 'old-bot')`,
      );
      const store = instance();
      await store.init();
      assert.deepEqual(await store.getBot('old-bot'), {
        ...bot('old-bot', { displayName: 'Old', description: '', createdAt: 0 }),
        allowedScopes: ['tables:read'],
      });
      assert.equal((await store.getCurrentToken('old-bot'))?.dpopJkt, null);
      assert.deepEqual(
        (await store.listAudit()).map((e) => [e.action, e.botName, e.userName]),
        [['bot.create', 'old-bot', null]],
      );
      await store.issuePersonalToken(personalToken('alice'), 'alice', 1);
      const versions = await adminQuery<{ version: number }>(
        `SELECT MAX(version) AS version FROM ${s}.schema_version`,
      );
      assert.deepEqual(versions, [{ version: 3 }]);
    });

    it('does not write the token anywhere, only its hash', async () => {
      const a = instance();
      await a.init();
      await a.createBot(bot('ingestion-bot'));
      const { token, record } = mint('ingestion-bot');
      await a.issueToken(record, 'admin');
      const dump = JSON.stringify(
        await adminQuery(
          `SELECT (SELECT json_agg(t) FROM "${schema}".bot_tokens t) AS tokens,
                  (SELECT json_agg(a) FROM "${schema}".audit_log a) AS audit`,
        ),
      );
      assert.ok(dump.includes(record.tokenHash));
      assert.ok(!dump.includes(token) && !dump.includes(token.split('.')[2]!));
    });

    it('rejects a role the server does not know as a configuration error', async () => {
      const store = new PostgresStore({
        url: TEST_DATABASE_URL.replace(/\/\/[^@/]*@/, '//no_such_role_xyz@'),
        schema,
      });
      open.push(store);
      await assert.rejects(
        store.init(),
        (e: unknown) => e instanceof ConfigError && /database\.url/.test(e.message),
      );
    });
  });

  describe('postgres store: server unreachable', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    before(async () => {
      // Accepts connections and never answers: a server that hangs rather than refuses.
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('fails fast with 503 ERR_STORE_UNAVAILABLE when the server does not answer', async () => {
      const { port } = silent.address() as { port: number };
      const store = new PostgresStore({
        url: `postgres://u@127.0.0.1:${port}/test`,
        connectionTimeoutMillis: 300,
      });
      // The server never answers: only connectionTimeoutMillis can end these attempts.
      await assert.rejects(store.init(), isUnavailable);
      await assert.rejects(store.listBots(), isUnavailable);
      await store.close();
    });

    it('fails with 503 ERR_STORE_UNAVAILABLE when the connection is refused', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as { port: number };
      await new Promise((resolve) => closed.close(resolve));
      const store = openStore(`postgres://u@127.0.0.1:${port}/test`);
      await assert.rejects(store.init(), isUnavailable);
      await assert.rejects(store.issueToken(mint('x').record, 'admin'), isUnavailable);
      await store.close();
    });
  });
});
