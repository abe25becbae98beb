import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import express, { type Express } from 'express';
import request from 'supertest';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { requireScopes } from '../lib/http/middleware/guards.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { postgresMigrations } from '../lib/store/postgres-migrations.js';
import { PostgresStore } from '../lib/store/postgres-store.js';
import { SQLITE_MIGRATIONS } from '../lib/store/sqlite-migrations.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { hashToken, tokenLast4 } from '../lib/store/token-hash.js';
import type { BotStore } from '../lib/store/types.js';
import { bearer, botGateOptions, eventually, type SsoFixture, startSso } from './support/bot-app.js';
import { adminQuery, requirePostgres, TEST_DATABASE_URL, testSchemaName } from './support/postgres.js';
import { describeEachStore } from './support/store-kinds.js';
import { testKeySet } from './support/tokens.js';

/**
 * Bot tokens carry scopes (issue 19): each bot's `allowedScopes`, set by an admin; tokens minted
 * with `scopes` within them (default: all of them); tokens minted before scopes existed hold the
 * bot's allowed set. On the memory, SQLite and PostgreSQL stores.
 */

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

let dir: string;

describe('bot scopes', function () {
  let sso: SsoFixture;
  let admin: Record<string, string>;
  before(async function () {
    sso = await startSso();
    admin = bearer(sso.token('admin'));
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-bot-scopes-'));
  });
  after(async function () {
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describeEachStore((kind) => {
    let store: BotStore;
    let gate: JwtGate;
    let app: Express;

    beforeEach(async function () {
      store = kind.open();
      gate = await createJwtGate(
        {
          ...botGateOptions(sso),
          botConfiguration: {
            defaultBots: ['ingestion-bot'],
            defaultBotScopes: ['tables:read', 'tables:write'],
          },
        },
        { keySet: testKeySet(), store },
      );
      app = express();
      app.use(gate.authenticate);
      app.use(gate.botsRouter);
      app.get('/api/v1/tables', requireScopes('tables:read'), (req, res) => {
        res.json({ scopes: req.user!.scopes });
      });
      app.post('/api/v1/tables', requireScopes('tables:write'), (_req, res) => {
        res.status(201).json({});
      });
      app.use(gate.errorHandler);
    });
    afterEach(async function () {
      await gate.close();
      await store.close();
    });

    const generate = (name: string, body: Record<string, unknown>, path = `/api/v1/bots/${name}/token`) =>
      request(app).put(path).set(admin).send(body);
    const read = (token: string) => request(app).get('/api/v1/tables').set(bearer(token));
    const write = (token: string) => request(app).post('/api/v1/tables').set(bearer(token));

    it("gives default bots defaultBotScopes, and a token without a choice the bot's whole allowed set", async function () {
      const shown = await request(app).get('/api/v1/bots/ingestion-bot').set(admin);
      assert.deepEqual(shown.body.allowedScopes, ['tables:read', 'tables:write']);
      const minted = await generate('ingestion-bot', { JWTTokenExpiry: '7' });
      assert.equal(minted.status, 200, JSON.stringify(minted.body));
      assert.equal(claimsOf(minted.body.JWTToken).scope, 'tables:read tables:write');
      assert.deepEqual((await read(minted.body.JWTToken)).body.scopes, ['tables:read', 'tables:write']);
      assert.equal((await write(minted.body.JWTToken)).status, 201);
      const meta = await request(app).get('/api/v1/bots/ingestion-bot/token').set(admin);
      assert.deepEqual(meta.body.scopes, ['tables:read', 'tables:write']);
    });

    it('mints a token with a subset of the allowed scopes; it gets 403 insufficient_scope beyond them', async function () {
      const minted = await generate(
        'ingestion-bot',
        { JWTTokenExpiry: '7', scopes: ['tables:read'] },
        '/api/v1/users/generateToken/ingestion-bot',
      );
      assert.equal(minted.status, 200, JSON.stringify(minted.body));
      const token = minted.body.JWTToken as string;
      assert.equal(claimsOf(token).scope, 'tables:read');
      assert.equal((await read(token)).status, 200);
      const denied = await write(token);
      assert.equal(denied.status, 403);
      assert.equal(denied.body.errorCode, 'ERR_INSUFFICIENT_SCOPE');
      assert.match(
        String(denied.headers['www-authenticate']),
        /error="insufficient_scope", .*scope="tables:write"/,
      );
      const list = await request(app).get('/api/v1/bots').set(admin);
      assert.deepEqual(list.body.data[0].token.scopes, ['tables:read']);
      const alias = await request(app).get('/api/v1/users/token/ingestion-bot').set(admin);
      assert.deepEqual(alias.body.scopes, ['tables:read']);

      const none = await generate('ingestion-bot', { JWTTokenExpiry: '7', scopes: [] });
      assert.equal(claimsOf(none.body.JWTToken).scope, '', 'no scopes is an empty claim, not "all of them"');
      assert.equal((await read(none.body.JWTToken)).status, 403);
    });

    it('refuses a scope outside the allowed set, or a malformed list, with 400 naming it; nothing is minted', async function () {
      const first = await generate('ingestion-bot', { JWTTokenExpiry: '7' });
      const outside = await generate('ingestion-bot', {
        JWTTokenExpiry: '7',
        scopes: ['tables:read', 'admin'],
      });
      assert.equal(outside.status, 400);
      assert.equal(outside.body.errorCode, 'ERR_BAD_REQUEST');
      assert.match(
        outside.body.message,
        /not allowed the scope admin \(allowed: tables:read, tables:write\)\. An admin can allow more with PATCH \/api\/v1\/bots\/ingestion-bot/,
      );
      for (const scopes of ['tables:read', ['tables read'], [7], ['a"b']]) {
        const bad = await generate('ingestion-bot', { JWTTokenExpiry: '7', scopes });
        assert.equal(bad.status, 400, JSON.stringify(scopes));
        assert.match(bad.body.message, /^scopes/);
      }
      assert.equal((await read(first.body.JWTToken)).status, 200, 'the current token was not replaced');
    });

    it('lets an admin set allowedScopes at creation and with PATCH; live tokens follow at once', async function () {
      const created = await request(app)
        .post('/api/v1/bots')
        .set(admin)
        .send({ name: 'etl', allowedScopes: ['tables:read', 'tables:write'] });
      assert.equal(created.status, 201);
      assert.deepEqual(created.body.allowedScopes, ['tables:read', 'tables:write']);
      const token = (await generate('etl', { JWTTokenExpiry: '7' })).body.JWTToken as string;
      assert.equal((await write(token)).status, 201);
      assert.equal((await write(token)).status, 201, 'cached now');

      const patched = await request(app)
        .patch('/api/v1/bots/etl')
        .set(admin)
        .send({ allowedScopes: ['tables:read'] });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.allowedScopes, ['tables:read']);
      assert.deepEqual(patched.body.token.scopes, ['tables:read']);
      assert.equal((await write(token)).status, 403, 'a narrowed bot narrows its live token');
      assert.deepEqual((await read(token)).body.scopes, ['tables:read']);
      const audit = await gate.bots.listAudit({ botName: 'etl', limit: 1 });
      assert.equal(audit[0]?.action, 'bot.update');

      for (const body of [{}, { allowedScopes: 'tables:read' }, { allowedScopes: [], displayName: 'x' }]) {
        const bad = await request(app).patch('/api/v1/bots/etl').set(admin).send(body);
        assert.equal(bad.status, 400, JSON.stringify(body));
      }
      assert.equal(
        (await request(app).patch('/api/v1/bots/nobody').set(admin).send({ allowedScopes: [] })).status,
        404,
      );
      const notAdmin = await request(app)
        .patch('/api/v1/bots/etl')
        .set(bearer(sso.token('jane')))
        .send({ allowedScopes: ['tables:write'] });
      assert.equal(notAdmin.status, 403);
      assert.equal(
        (
          await request(app)
            .post('/api/v1/bots')
            .set(admin)
            .send({ name: 'x', allowedScopes: ['a b'] })
        ).status,
        400,
      );
    });

    it("gives a token minted before scopes existed (no scope claim) its bot's allowed set, as it changes", async function () {
      const minted = gate.mintToken({
        subject: 'ingestion-bot',
        email: 'ingestion-bot@example.com',
        isBot: true,
        tokenType: 'BOT',
        expiry: '7',
      });
      assert.equal(claimsOf(minted.token).scope, undefined);
      await store.issueToken(
        {
          botName: 'ingestion-bot',
          jti: minted.jti,
          tokenHash: hashToken(minted.token),
          last4: tokenLast4(minted.token),
          expiry: '7',
          issuedAt: minted.issuedAt,
          expiresAt: minted.expiresAt,
          issuedBy: 'admin',
          lastUsedAt: null,
          revokedAt: null,
          scopes: null,
          dpopJkt: null,
        },
        'admin',
      );
      assert.deepEqual((await read(minted.token)).body.scopes, ['tables:read', 'tables:write']);
      assert.equal((await write(minted.token)).status, 201);
      const meta = await request(app).get('/api/v1/bots/ingestion-bot/token').set(admin);
      assert.deepEqual(meta.body.scopes, ['tables:read', 'tables:write']);

      await request(app)
        .patch('/api/v1/bots/ingestion-bot')
        .set(admin)
        .send({ allowedScopes: ['tables:read'] });
      assert.equal((await write(minted.token)).status, 403);
      assert.deepEqual((await read(minted.token)).body.scopes, ['tables:read']);
    });
  });

  it('gives a default bot that has no scopes, and never had any set, the defaultBotScopes at the next start, once', async function () {
    const store = new MemoryStore();
    await store.createBot({
      name: 'ingestion-bot',
      displayName: 'Ingestion Bot',
      description: '',
      createdAt: 0,
      createdBy: 'system',
      allowedScopes: [],
      requireDpop: false,
    });
    const start = (defaultBotScopes: string[]) =>
      createJwtGate(
        { ...botGateOptions(sso), botConfiguration: { defaultBots: ['ingestion-bot'], defaultBotScopes } },
        { keySet: testKeySet(), store },
      );
    await (await start([])).close();
    assert.deepEqual((await store.getBot('ingestion-bot'))?.allowedScopes, []);
    const gate = await start(['tables:read', 'tables:write']);
    assert.deepEqual((await store.getBot('ingestion-bot'))?.allowedScopes, ['tables:read', 'tables:write']);
    const [entry] = await gate.bots.listAudit({ botName: 'ingestion-bot', limit: 1 });
    assert.deepEqual([entry?.actor, entry?.action], ['system', 'bot.update']);
    await gate.bots.setAllowedScopes('ingestion-bot', [], 'admin');
    await gate.close();
    await (await start(['tables:read', 'tables:write'])).close();
    assert.deepEqual((await store.getBot('ingestion-bot'))?.allowedScopes, [], "an admin's choice stays");
  });

  it('narrows a live bot token on another PostgreSQL instance once it hears of the change', async function () {
    await requirePostgres(this);
    const s = testSchemaName();
    const stores = [0, 1].map(() => new PostgresStore({ url: TEST_DATABASE_URL, schema: s }));
    const gates: JwtGate[] = [];
    try {
      for (const store of stores) {
        gates.push(
          await createJwtGate(
            {
              ...botGateOptions(sso),
              botConfiguration: {
                defaultBots: ['ingestion-bot'],
                defaultBotScopes: ['tables:read', 'tables:write'],
              },
            },
            { keySet: testKeySet(), store },
          ),
        );
      }
      const [a, b] = gates.map((gate) => {
        const app = express();
        app.use(gate.authenticate);
        app.post('/api/v1/tables', requireScopes('tables:write'), (_req, res) => {
          res.status(201).json({});
        });
        app.use(gate.errorHandler);
        return app;
      }) as [Express, Express];
      const { JWTToken: token } = await gates[0]!.bots.generateToken('ingestion-bot', '7', 'admin');
      const write = (app: Express) => request(app).post('/api/v1/tables').set(bearer(token));
      await eventually(async () => (await write(b)).status === 201, 3000, 'B accepting the new token');
      assert.equal((await write(b)).status, 201, 'cached on B');
      await gates[0]!.bots.setAllowedScopes('ingestion-bot', ['tables:read'], 'admin');
      assert.equal((await write(a)).status, 403, 'A at once');
      const took = await eventually(
        async () => (await write(b)).status === 403,
        3000,
        'B narrowing the token',
      );
      assert.ok(took < 3000);
    } finally {
      for (const gate of gates) await gate.close();
      for (const store of stores) await store.close();
      await adminQuery(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    }
  });

  it('resolves again a token another instance minted while it changed the allowed scopes (SQLite)', async function () {
    const path = join(dir, `${testSchemaName()}.db`);
    // B looks for A's writes only when a bot token is checked: what B knows is exactly what it read.
    const stores = [new SqliteStore({ path }), new SqliteStore({ path, pollIntervalMs: 60_000 })];
    const gates: JwtGate[] = [];
    try {
      for (const store of stores) {
        gates.push(
          await createJwtGate(
            {
              ...botGateOptions(sso),
              botConfiguration: {
                defaultBots: ['ingestion-bot'],
                defaultBotScopes: ['tables:read', 'tables:write'],
              },
            },
            { keySet: testKeySet(), store },
          ),
        );
      }
      const [a, b] = gates as [JwtGate, JwtGate];
      const { JWTToken: token } = await a.bots.generateToken('ingestion-bot', '7', 'admin');
      await a.bots.setAllowedScopes('ingestion-bot', ['tables:read'], 'admin');
      const app = express();
      app.use(b.authenticate);
      app.post('/api/v1/tables', requireScopes('tables:write'), (_req, res) => {
        res.status(201).json({});
      });
      app.use(b.errorHandler);
      for (let i = 0; i < 2; i++) {
        const res = await request(app).post('/api/v1/tables').set(bearer(token));
        assert.equal(res.status, 403, `request ${i + 1}: B resolved the scopes with what it re-read`);
      }
    } finally {
      for (const gate of gates) await gate.close();
      for (const store of stores) await store.close();
    }
  });

  describe('the migration', function () {
    it('gives SQLite bots and tokens written before scopes an empty allowed set and no token scopes', async function () {
      const path = join(dir, 'v1.db');
      const db = new Database(path);
      db.exec(SQLITE_MIGRATIONS[0]!);
      db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      db.prepare('INSERT INTO schema_version VALUES (1, 0)').run();
      db.prepare("INSERT INTO bots VALUES ('old-bot', 'Old', '', 0, 'admin')").run();
      db.prepare(
        "INSERT INTO bot_tokens VALUES ('j1', 'old-bot', 'h', 'abcd', '7', 0, NULL, 'admin', NULL, NULL)",
      ).run();
      db.close();
      const store = new SqliteStore({ path });
      await store.init();
      try {
        assert.deepEqual((await store.getBot('old-bot'))?.allowedScopes, []);
        assert.equal((await store.getCurrentToken('old-bot'))?.scopes, null);
      } finally {
        await store.close();
      }
    });

    it('does the same on PostgreSQL', async function () {
      await requirePostgres(this);
      const s = testSchemaName();
      const [v1] = postgresMigrations(`"${s}"`);
      try {
        await adminQuery(`CREATE SCHEMA "${s}"`);
        await adminQuery(v1!);
        await adminQuery(
          `CREATE TABLE "${s}".schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
        );
        await adminQuery(`INSERT INTO "${s}".schema_version VALUES (1, 0)`);
        await adminQuery(`INSERT INTO "${s}".bots VALUES ('old-bot', 'Old', '', 0, 'admin')`);
        await adminQuery(
          `INSERT INTO "${s}".bot_tokens VALUES ('j1', 'old-bot', 'h', 'abcd', '7', 0, NULL, 'admin', NULL, NULL)`,
        );
        const store = new PostgresStore({ url: TEST_DATABASE_URL, schema: s });
        await store.init();
        try {
          assert.deepEqual((await store.getBot('old-bot'))?.allowedScopes, []);
          assert.equal((await store.getCurrentToken('old-bot'))?.scopes, null);
        } finally {
          await store.close();
        }
      } finally {
        await adminQuery(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      }
    });
  });
});
