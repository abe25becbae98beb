import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
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
import { runCli } from './support/cli.js';

describe('bots on SQLite', function () {
  let sso: SsoFixture;
  let dir: string;
  let configPath: string;
  const opened: BotApp[] = [];

  before(async function () {
    sso = await startSso();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-bots-sqlite-'));
    configPath = await writeBotConfig(dir, sso, 'sqlite:./data/bots.db');
  });
  after(async function () {
    for (const { gate } of opened.splice(0)) await gate.close();
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the app on the YAML, as `npm start` would. */
  async function start(): Promise<BotApp> {
    const server = await startBotApp(sso, {}, loadConfig({ path: configPath }));
    opened.push(server);
    return server;
  }
  const admin = () => bearer(sso.token('admin'));
  const tables = (server: BotApp, token: string) =>
    request(server.app).get('/api/v1/tables').set(bearer(token));
  async function generate(server: BotApp, name: string): Promise<string> {
    const res = await request(server.app)
      .put(`/api/v1/bots/${name}/token`)
      .set(admin())
      .send({ JWTTokenExpiry: '7' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { JWTToken: string }).JWTToken;
  }

  it('keeps bots, tokens and revocations across a restart of the app', async function () {
    const first = await start();
    assert.equal(first.gate.health().store?.kind, 'sqlite');
    for (const name of ['etl', 'old']) {
      assert.equal((await request(first.app).post('/api/v1/bots').set(admin()).send({ name })).status, 201);
    }
    const live = await generate(first, 'etl');
    const revoked = await generate(first, 'old');
    assert.equal((await request(first.app).delete('/api/v1/bots/old/token').set(admin())).status, 200);
    await tables(first, live);
    await first.gate.close();
    opened.splice(opened.indexOf(first), 1);

    const second = await start();
    const ok = await tables(second, live);
    assert.equal(ok.status, 200, 'a token minted before the restart still works');
    assert.equal(ok.body.principal.name, 'etl');
    const refused = await tables(second, revoked);
    assert.equal(refused.status, 401, 'a token revoked before the restart stays revoked');
    assert.equal(refused.body.errorCode, 'ERR_TOKEN_REVOKED');
    const bots = await request(second.app).get('/api/v1/bots').set(admin());
    assert.deepEqual(
      bots.body.data.map((b: { name: string }) => b.name),
      ['etl', 'ingestion-bot', 'old'],
    );
    const etl = bots.body.data.find((b: { name: string }) => b.name === 'etl');
    assert.equal(typeof etl.token.lastUsedAt, 'number', 'the use before the restart was written at close');
    const audit = await second.gate.bots.listAudit({ botName: 'old' });
    assert.deepEqual(
      audit.map((r) => r.action),
      ['token.revoke', 'token.issue', 'bot.create'],
    );

    const files = readdirSync(join(dir, 'data'));
    const onDisk = files.map((f) => readFileSync(join(dir, 'data', f)).toString('latin1')).join('');
    for (const token of [live, revoked])
      assert.ok(!onDisk.includes(token.split('.')[2]!), 'no token in the database files');
  });

  it('refuses a token revoked by the CLI in another process on the very next request', async function () {
    const server = await start();
    const token = await generate(server, 'etl');
    assert.equal((await tables(server, token)).status, 200);
    const cli = await runCli(['bots', 'revoke', 'etl', '--config', configPath]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Revoked the token of bot "etl"/);
    const refused = await tables(server, token);
    assert.equal(refused.status, 401, 'without waiting for the timer poll');
    assert.equal(refused.body.errorCode, 'ERR_TOKEN_REVOKED');
    const audit = await server.gate.bots.listAudit({ botName: 'etl', limit: 1 });
    assert.equal(audit[0]?.actor, 'cli');
    assert.equal(audit[0]?.action, 'token.revoke');
  });
  it('accepts a token minted a moment ago by another instance before hearing of it, and no older one', async function () {
    const a = await start();
    // B polls for changes only once a minute: it learns of A's token only by re-reading the bot.
    const config = loadConfig({ path: configPath });
    const store = new SqliteStore({ path: join(dir, 'data', 'bots.db'), pollIntervalMs: 60_000 });
    const b = await startBotApp(sso, { store }, config);
    opened.push(b);
    const first = await generate(a, 'ingestion-bot');
    assert.equal((await tables(b, first)).status, 200, 'B re-reads the bot for a newer token');
    const second = await generate(a, 'ingestion-bot');
    assert.equal((await tables(b, second)).status, 200);
    const old = await tables(b, first);
    assert.equal(old.status, 401, 'B knows the newer token now, so the older one is refused at once');
    assert.equal(old.body.errorCode, 'ERR_TOKEN_REVOKED');
    await store.close();
  });
});
