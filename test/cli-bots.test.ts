import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import {
  type BotApp,
  eventually,
  bearer,
  type SsoFixture,
  startBotApp,
  startSso,
  writeBotConfig,
} from './support/bot-app.js';
import { assertOneLineError, runCli, runMain } from './support/cli.js';

describe('jwt-gate bots', function () {
  let sso: SsoFixture;
  let dir: string;
  let config: string;
  const apps: BotApp[] = [];

  before(async function () {
    sso = await startSso();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-cli-bots-'));
    config = await writeBotConfig(dir, sso, 'sqlite:./bots.db');
  });
  after(async function () {
    for (const { gate } of apps) await gate.close();
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runMain('bots', ...args, '--config', config);
  async function app(): Promise<BotApp> {
    const started = await startBotApp(sso, {}, loadConfig({ path: config }));
    apps.push(started);
    return started;
  }

  it('bootstraps before any server ran: ingestion-bot exists and gets a token the app accepts', async function () {
    const list = await cli('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^NAME\s+DISPLAY NAME\s+TOKEN\s+EXPIRES\s+LAST USED\s+SCOPES\ningestion-bot\s+Ingestion Bot\s+-/,
    );

    const minted = await cli('token', 'ingestion-bot', '--expiry', '30');
    assert.equal(minted.code, 0, minted.stderr);
    const lines = minted.stdout.split('\n');
    assert.deepEqual(lines.slice(1), [''], 'stdout is the token and nothing else');
    const token = lines[0]!;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(
      minted.stderr,
      /expiry 30, scopes: none\) expires at \d{4}-\d\d-\d\dT.*shown only this once/,
    );
    assert.ok(!minted.stderr.includes(token));

    const server = await app();
    const res = await request(server.app).get('/api/v1/tables').set(bearer(token));
    assert.equal(res.status, 200);
    assert.equal(res.body.principal.name, 'ingestion-bot');
    assert.equal(res.body.principal.isBot, true);
    const audit = await server.gate.bots.listAudit({ botName: 'ingestion-bot', limit: 1 });
    assert.deepEqual([audit[0]?.actor, audit[0]?.action], ['cli', 'token.issue']);

    const listed = await cli('list', '--json');
    const [bot] = JSON.parse(listed.stdout) as Array<{ name: string; token: { last4: string } }>;
    assert.equal(bot?.token.last4, token.slice(-4));
    assert.ok(!listed.stdout.includes(token.split('.')[2]!), 'list never shows a token');
  });

  it('creates, revokes and deletes; the running app follows', async function () {
    const created = await cli(
      'create',
      'etl',
      '--display-name',
      'Nightly ETL',
      '--description',
      'loads tables',
    );
    assert.deepEqual([created.code, created.stdout], [0, 'Created bot "etl".\n']);
    const token = (await cli('token', 'etl', '--expiry', 'Unlimited')).stdout.trim();
    const server = await app();
    const tables = () => request(server.app).get('/api/v1/tables').set(bearer(token));
    assert.equal((await tables()).status, 200);
    const shown = await request(server.app)
      .get('/api/v1/bots/etl')
      .set(bearer(sso.token('admin')));
    assert.deepEqual(
      [shown.body.displayName, shown.body.description, shown.body.createdBy],
      ['Nightly ETL', 'loads tables', 'cli'],
    );
    assert.equal(shown.body.token.expiresAt, null);

    assert.deepEqual((await cli('revoke', 'etl')).stdout, 'Revoked the token of bot "etl".\n');
    await eventually(async () => (await tables()).status === 401, 2000, 'the app refusing the revoked token');
    assert.deepEqual(
      (await cli('revoke', 'etl')).stdout,
      'Bot "etl" has no current token; nothing to revoke.\n',
    );
    const deleted = await cli('delete', 'etl');
    assert.deepEqual([deleted.code, deleted.stdout], [0, 'Deleted bot "etl".\n']);
    assert.doesNotMatch((await cli('list')).stdout, /^etl /m);
  });

  it('sets allowed scopes (create --allowed-scope, scopes) and mints with --scope within them', async function () {
    const created = await cli(
      'create',
      'loader',
      '--allowed-scope',
      'tables:read',
      '--allowed-scope',
      'tables:write',
    );
    assert.deepEqual(
      [created.code, created.stdout],
      [0, 'Created bot "loader" (allowed scopes: tables:read tables:write).\n'],
    );
    const minted = await cli('token', 'loader', '--scope', 'tables:read');
    assert.equal(minted.code, 0, minted.stderr);
    assert.match(minted.stderr, /scopes: tables:read\)/);
    const claims = JSON.parse(Buffer.from(minted.stdout.split('.')[1]!, 'base64url').toString()) as {
      scope?: string;
    };
    assert.equal(claims.scope, 'tables:read');
    assert.match((await cli('list')).stdout, /^loader\s.*\stables:read$/m);
    assertOneLineError(
      await cli('token', 'loader', '--scope', 'tables:admin'),
      /^jwt-gate: Bot "loader" is not allowed the scope tables:admin \(allowed: tables:read, tables:write\)/,
    );

    assert.deepEqual((await cli('scopes', 'loader')).stdout, 'tables:read tables:write\n');
    assert.deepEqual((await cli('scopes', 'loader', 'tables:read')).stdout, 'tables:read\n');
    assert.deepEqual((await cli('scopes', 'loader', '--clear')).stdout, '\n');
    assertOneLineError(await cli('scopes', 'loader', 'a b'), /allowedScopes: "a b" holds a space/);
    const server = await app();
    const shown = await request(server.app)
      .get('/api/v1/bots/loader')
      .set(bearer(sso.token('admin')));
    assert.deepEqual(shown.body.allowedScopes, []);
    const audit = await server.gate.bots.listAudit({ botName: 'loader', limit: 1 });
    assert.deepEqual([audit[0]?.actor, audit[0]?.action], ['cli', 'bot.update']);
  });

  it('reports mistakes as one line on stderr with exit code 1', async function () {
    assertOneLineError(
      await cli('create', 'Bad Name'),
      /^jwt-gate: Invalid bot name: a bot name is 1 to 64 characters/,
    );
    assertOneLineError(await cli('token', 'ghost'), /^jwt-gate: Bot "ghost" not found\./);
    assertOneLineError(await cli('delete', 'ghost'), /Bot "ghost" not found/);
    await cli('create', 'dup');
    assertOneLineError(await cli('create', 'dup'), /Bot "dup" already exists/);
    const badExpiry = await cli('token', 'dup', '--expiry', '8');
    assert.equal(badExpiry.code, 1);
    assert.match(badExpiry.stderr, /Allowed choices are OneHour, 1, 7, 30, 60, 90, Unlimited/);
    assertOneLineError(
      await runMain('bots', 'list', '--config', join(dir, 'missing.yaml')),
      /Cannot read the jwt-gate configuration file .*missing\.yaml: no such file/,
    );
  });

  it('needs the signing key only to mint, and names the field when it cannot be read', async function () {
    const broken = join(dir, 'no-key.yaml');
    writeFileSync(
      broken,
      readFileSync(config, 'utf8').replace('./keys/private_key.der', './keys/absent.der'),
    );
    assert.equal((await runMain('bots', 'list', '--config', broken)).code, 0);
    assertOneLineError(
      await runMain('bots', 'token', 'ingestion-bot', '--config', broken),
      /rsaprivateKeyFilePath/,
    );
  });

  it('works as a real command: JWT_GATE_CONFIG names the file and $(…) captures exactly the token', async function () {
    const result = await runCli(['bots', 'token', 'ingestion-bot', '--expiry', '7'], {
      ...process.env,
      JWT_GATE_CONFIG: config,
    });
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trimEnd();
    assert.ok(!token.includes('\n'));
    const server = await app();
    assert.equal((await request(server.app).get('/api/v1/tables').set(bearer(token))).status, 200);
  });
});
