import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { loadOrCreateDpopKey } from '../lib/client/dpop-key.js';
import { loadConfig } from '../lib/config/load-config.js';
import { jwkThumbprint } from '../lib/keys/jwk-thumbprint.js';
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
  it('binds a token to a key file (--dpop-key, created with mode 0600 if missing) or a thumbprint (--dpop-jkt)', async function () {
    await cli('create', 'bound');
    const keyFile = join(dir, 'machine-dpop-key.json');
    const minted = await cli('token', 'bound', '--dpop-key', keyFile);
    assert.equal(minted.code, 0, minted.stderr);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const { jkt } = loadOrCreateDpopKey(keyFile);
    assert.deepEqual(claimsOf(minted.stdout.trim()).cnf, { jkt });
    assert.match(minted.stderr, new RegExp(`bound to DPoP key ${jkt}\\)`));
    assert.match((await cli('list')).stdout, /^bound\s+bound\s+…\S{4} \(DPoP\)\s/m);
    const again = await cli('token', 'bound', '--dpop-key', keyFile);
    assert.deepEqual(claimsOf(again.stdout.trim()).cnf, { jkt }, 'an existing key is reused');

    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' });
    const publicFile = join(dir, 'public.jwk');
    writeFileSync(publicFile, JSON.stringify(publicJwk));
    const other = jwkThumbprint({ kty: 'EC', crv: publicJwk.crv!, x: publicJwk.x!, y: publicJwk.y! });
    const fromPublic = await cli('token', 'bound', '--dpop-key', publicFile);
    assert.deepEqual(claimsOf(fromPublic.stdout.trim()).cnf, { jkt: other }, 'a public JWK file binds too');

    const byJkt = await cli('token', 'bound', '--dpop-jkt', jkt);
    assert.deepEqual(claimsOf(byJkt.stdout.trim()).cnf, { jkt });
    const server = await app();
    const meta = await request(server.app)
      .get('/api/v1/bots/bound/token')
      .set(bearer(sso.token('admin')));
    assert.equal(meta.body.dpopJkt, jkt);

    assertOneLineError(await cli('token', 'bound', '--dpop-jkt', 'nope'), /dpopJkt must be the RFC 7638/);
    const both = await cli('token', 'bound', '--dpop-jkt', jkt, '--dpop-key', keyFile);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /cannot be used with/);
    writeFileSync(join(dir, 'not-json'), 'x');
    assertOneLineError(
      await cli('token', 'bound', '--dpop-key', join(dir, 'not-json')),
      /DPoP key file .*not-json does not hold a JWK/,
    );
  });

  it('requires DPoP (create --require-dpop, bots dpop on|off) and revokes an unbound token when turned on', async function () {
    const created = await cli('create', 'strict', '--require-dpop');
    assert.deepEqual(
      [created.code, created.stdout],
      [0, 'Created bot "strict"; its tokens must be DPoP-bound.\n'],
    );
    assert.deepEqual((await cli('dpop', 'strict')).stdout, 'on\n');
    assertOneLineError(
      await cli('token', 'strict'),
      /^jwt-gate: Bot "strict" requires DPoP-bound tokens: send "dpopJkt".*--dpop-key/,
    );
    assert.deepEqual((await cli('dpop', 'strict', 'off')).stdout, 'off\n');
    const unbound = await cli('token', 'strict');
    assert.equal(unbound.code, 0, unbound.stderr);
    const on = await cli('dpop', 'strict', 'on');
    assert.deepEqual([on.code, on.stdout], [0, 'on\n']);
    assert.match(on.stderr, /Revoked the unbound token of bot "strict"/);
    assert.match((await cli('list')).stdout, /^strict\s+strict\s+-\s/m);
    assertOneLineError(await cli('dpop', 'strict', 'maybe'), /Give on or off, not "maybe"/);

    const server = await app();
    const audit = await server.gate.bots.listAudit({ botName: 'strict', limit: 2 });
    assert.deepEqual(
      audit.map((entry) => [entry.actor, entry.action, entry.detail]),
      [
        ['cli', 'token.revoke', null],
        ['cli', 'bot.update', 'requireDpop true'],
      ],
    );
    const shown = await request(server.app)
      .get('/api/v1/bots/strict')
      .set(bearer(sso.token('admin')));
    assert.equal(shown.body.requireDpop, true);
  });
});

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
