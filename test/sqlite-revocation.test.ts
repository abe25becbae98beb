/**
 * "Fails on the very next request, on every instance" (docs/security.md#revocation) on SQLite: two gates, each
 * with its own connection to one file, and no sleep between a revoke on one and a request on the
 * other. Their timer polls run once a minute, so only the check's own look at the file can help.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request, { type Response } from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import {
  type BotApp,
  bearer,
  type SsoFixture,
  startBotApp,
  startSso,
  writeBotConfig,
} from './support/bot-app.js';

describe('bot revocation across instances on one SQLite file', function () {
  let sso: SsoFixture;
  let dir: string;
  let configPath: string;
  let dbPath: string;
  let a: BotApp;
  let b: BotApp;
  const stores: SqliteStore[] = [];

  before(async function () {
    sso = await startSso();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-sqlite-revocation-'));
    configPath = await writeBotConfig(dir, sso, 'sqlite:./data/bots.db');
    dbPath = join(dir, 'data', 'bots.db');
    a = await startInstance();
    b = await startInstance();
  });
  after(async function () {
    for (const { gate } of [a, b]) await gate?.close();
    for (const store of stores.splice(0)) await store.close();
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A connection to the shared file whose timer poll is too slow to matter in a test. */
  function openStore(): SqliteStore {
    const store = new SqliteStore({ path: dbPath, pollIntervalMs: 60_000 });
    stores.push(store);
    return store;
  }
  /** A gate on the shared file, with the keys of the YAML (so A's tokens verify on B). */
  function startInstance(): Promise<BotApp> {
    return startBotApp(sso, { store: openStore() }, loadConfig({ path: configPath }));
  }
  const admin = () => bearer(sso.token('admin'));
  const tables = (server: BotApp, token: string) =>
    request(server.app).get('/api/v1/tables').set(bearer(token));
  async function createBot(server: BotApp, name: string): Promise<void> {
    const res = await request(server.app).post('/api/v1/bots').set(admin()).send({ name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  async function generate(server: BotApp, name: string): Promise<string> {
    const res = await request(server.app)
      .put(`/api/v1/bots/${name}/token`)
      .set(admin())
      .send({ JWTTokenExpiry: '7' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { JWTToken: string }).JWTToken;
  }
  function assertRevoked(res: Response, what: string): void {
    assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.errorCode, 'ERR_TOKEN_REVOKED', what);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, what);
  }

  it('refuses a token revoked on another instance on the very next request', async function () {
    await createBot(a, 'revoked-on-a');
    const token = await generate(a, 'revoked-on-a');
    assert.equal((await tables(b, token)).status, 200);
    const revoke = await request(a.app).delete('/api/v1/bots/revoked-on-a/token').set(admin());
    assert.equal(revoke.status, 200, JSON.stringify(revoke.body));
    assertRevoked(await tables(b, token), 'the request right after the revoke');
  });

  it('refuses a replaced token at once, cached verification included, and takes the new one at once', async function () {
    await createBot(a, 'replaced-on-a');
    const old = await generate(a, 'replaced-on-a');
    // The second verification caches the token; the third request is a cache hit.
    for (let i = 0; i < 3; i++) assert.equal((await tables(b, old)).status, 200);
    const fresh = await generate(a, 'replaced-on-a');
    assertRevoked(await tables(b, old), 'the cached old token right after the regenerate');
    const ok = await tables(b, fresh);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.principal.name, 'replaced-on-a');
    assertRevoked(await tables(b, old), 'the old token later on');
  });

  it('refuses a token revoked through another connection (as the CLI does) on the very next request', async function () {
    await createBot(a, 'revoked-by-cli');
    const token = await generate(a, 'revoked-by-cli');
    for (let i = 0; i < 3; i++) assert.equal((await tables(b, token)).status, 200);
    const cli = openStore();
    await cli.init();
    assert.notEqual(await cli.revokeToken('revoked-by-cli', 'cli', Date.now()), null);
    await cli.close();
    assertRevoked(await tables(b, token), 'on B');
    assertRevoked(await tables(a, token), 'on A');
  });

  it('refuses the token of a bot deleted on another instance on the very next request', async function () {
    await createBot(a, 'deleted-on-a');
    const token = await generate(a, 'deleted-on-a');
    assert.equal((await tables(b, token)).status, 200);
    assert.equal((await request(a.app).delete('/api/v1/bots/deleted-on-a').set(admin())).status, 200);
    assertRevoked(await tables(b, token), 'the request right after the delete');
  });
});

describe('SQLite store: syncChanges', function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-sqlite-sync-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("delivers another connection's committed changes before it returns, each once, never its own", async function () {
    const path = join(dir, 'sync.db');
    const writer = new SqliteStore({ path, pollIntervalMs: 60_000 });
    const reader = new SqliteStore({ path, pollIntervalMs: 60_000 });
    await writer.init();
    await reader.init();
    try {
      const seen: string[] = [];
      reader.onChange((change) => seen.push(change.botName ?? ''));
      reader.syncChanges();
      assert.deepEqual(seen, [], 'nothing changed yet');
      await writer.createBot({
        name: 'x',
        displayName: 'x',
        description: '',
        createdAt: 0,
        createdBy: 'a',
        allowedScopes: [],
        requireDpop: false,
      });
      await writer.createBot({
        name: 'y',
        displayName: 'y',
        description: '',
        createdAt: 0,
        createdBy: 'a',
        allowedScopes: [],
        requireDpop: false,
      });
      assert.deepEqual(seen, [], 'the timer is far off');
      reader.syncChanges();
      assert.deepEqual(seen, ['x', 'y']);
      reader.syncChanges();
      assert.deepEqual(seen, ['x', 'y'], 'each change once');
      await reader.deleteBot('x', 'a', 0);
      reader.syncChanges();
      assert.deepEqual(seen, ['x', 'y', 'x'], 'its own write, told once, at the write');
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('throws when it cannot read the change log, so the check fails closed', async function () {
    const path = join(dir, 'broken.db');
    const store = new SqliteStore({ path, pollIntervalMs: 60_000 });
    await store.init();
    const other = new SqliteStore({ path, pollIntervalMs: 60_000 });
    await other.init();
    try {
      await other.createBot({
        name: 'x',
        displayName: 'x',
        description: '',
        createdAt: 0,
        createdBy: 'a',
        allowedScopes: [],
        requireDpop: false,
      });
      const raw = new Database(path);
      raw.exec('ALTER TABLE changes RENAME TO changes_moved');
      raw.close();
      assert.throws(() => store.syncChanges(), /no such table: changes/);
    } finally {
      await other.close();
      await store.close();
    }
  });
});
