import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import {
  type BotApp,
  bearer,
  type SsoFixture,
  startBotApp,
  startSso,
  writeBotConfig,
} from './support/bot-app.js';
import { assertOneLineError, runCli, runMain } from './support/cli.js';

interface ListedToken {
  id: string;
  tokenName: string;
  last4: string;
  scopes: string[];
  expired: boolean;
  JWTTokenExpiresAt: number | null;
}

describe('jwt-gate tokens', function () {
  let sso: SsoFixture;
  let dir: string;
  let config: string;
  let server: BotApp;

  before(async function () {
    sso = await startSso();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-cli-tokens-'));
    config = await writeBotConfig(dir, sso, 'sqlite:./tokens.db');
    // The per-person limit, kept small so the test reaches it.
    writeFileSync(
      config,
      `${readFileSync(config, 'utf8')}personalTokenConfiguration:\n  maxTokensPerUser: 3\n`,
    );
    server = await startBotApp(sso, {}, loadConfig({ path: config }));
  });
  after(async function () {
    await server.gate.close();
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runMain('tokens', ...args, '--config', config);
  const tables = (token: string) => request(server.app).get('/api/v1/tables').set(bearer(token));
  async function create(user: string, name: string, ...more: string[]): Promise<string> {
    const minted = await cli('create', user, '--name', name, ...more);
    assert.equal(minted.code, 0, minted.stderr);
    return minted.stdout.trimEnd();
  }
  async function listed(user: string): Promise<ListedToken[]> {
    const result = await cli('list', user, '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ListedToken[];
  }

  it('creates a token the running gate accepts as the person, PERSONAL_ACCESS; list shows it, never the token', async function () {
    const minted = await cli(
      'create',
      'Jane',
      '--name',
      'laptop',
      '--expiry',
      '30',
      '--scope',
      'tables:read',
      '--email',
      'jane@example.com',
    );
    assert.equal(minted.code, 0, minted.stderr);
    const lines = minted.stdout.split('\n');
    assert.deepEqual(lines.slice(1), [''], 'stdout is the token and nothing else');
    const token = lines[0]!;
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(
      minted.stderr,
      /^Personal access token "laptop" \(id [\w-]+\) for "jane" \(expiry 30, scopes: tables:read\) expires at \d{4}-\d\d-\d\dT.*shown only this once/,
    );
    assert.ok(!minted.stderr.includes(token));

    const res = await tables(token);
    assert.equal(res.status, 200);
    assert.deepEqual(
      [res.body.principal.name, res.body.principal.email, res.body.principal.isBot],
      ['jane', 'jane@example.com', false],
    );
    assert.equal(res.body.principal.tokenType, 'PERSONAL_ACCESS');
    assert.deepEqual(res.body.principal.scopes, ['tables:read']);
    const audit = await server.gate.bots.listAudit({ userName: 'jane', limit: 1 });
    assert.deepEqual([audit[0]?.actor, audit[0]?.action], ['cli', 'personal-token.issue']);

    const text = await cli('list', 'jane');
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `^ID\\s+NAME\\s+TOKEN\\s+EXPIRES\\s+LAST USED\\s+SCOPES\\n[\\w-]+\\s+laptop\\s+…${token.slice(-4)}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+\\S+\\s+tables:read\\n$`,
      ),
    );
    const json = await cli('list', 'jane', '--json');
    const [shown] = JSON.parse(json.stdout) as ListedToken[];
    assert.deepEqual(
      [shown?.tokenName, shown?.last4, shown?.scopes, shown?.expired],
      ['laptop', token.slice(-4), ['tables:read'], false],
    );
    for (const output of [text.stdout, json.stdout]) {
      assert.ok(!output.includes(token.split('.')[2]!), 'list never shows a token');
    }
  });

  it('revokes by id: the running gate refuses the token on the very next request', async function () {
    const kept = await create('rev', 'kept');
    const token = await create('rev', 'doomed', '--expiry', 'Unlimited');
    assert.equal((await tables(token)).status, 200);
    const doomed = (await listed('rev')).find((t) => t.tokenName === 'doomed')!;
    assert.equal(doomed.JWTTokenExpiresAt, null);

    const revoked = await cli('revoke', 'rev', doomed.id);
    assert.deepEqual(
      [revoked.code, revoked.stdout],
      [0, `Revoked 1 personal access token of "rev": ${doomed.id}\n`],
    );
    const refused = await tables(token);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.errorCode, 'ERR_TOKEN_REVOKED');
    assert.match(refused.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
    assert.equal((await tables(kept)).status, 200, 'the other token keeps working');
    assert.deepEqual(
      (await listed('rev')).map((t) => t.tokenName),
      ['kept'],
    );
    assert.deepEqual(
      (await cli('revoke', 'rev', doomed.id)).stdout,
      'No live personal access token of "rev" matched; nothing revoked.\n',
    );
  });

  it('revokes every token of the person with --all, and no one else’s', async function () {
    const first = await create('many', 'one');
    const second = await create('many', 'two');
    const other = await create('someone', 'theirs');
    const revoked = await cli('revoke', 'many', '--all');
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^Revoked 2 personal access tokens of "many": [\w-]+ [\w-]+\n$/);
    for (const token of [first, second]) {
      const res = await tables(token);
      assert.deepEqual([res.status, res.body.errorCode], [401, 'ERR_TOKEN_REVOKED']);
    }
    assert.equal((await tables(other)).status, 200);
    assert.deepEqual(await listed('many'), []);
  });

  it('applies the per-person limit as one line; revoking one makes room', async function () {
    for (const name of ['a', 'b', 'c']) await create('full', name);
    assertOneLineError(
      await cli('create', 'full', '--name', 'd'),
      /^jwt-gate: You already hold 3 live personal access tokens, the most allowed; revoke one first\.\n$/,
    );
    const [newest] = await listed('full');
    await cli('revoke', 'full', newest!.id);
    assert.equal((await cli('create', 'full', '--name', 'd')).code, 0);
  });

  it('lists an unknown person as empty', async function () {
    assert.deepEqual(
      [(await cli('list', 'ghost')).stdout, (await cli('list', 'ghost', '--json')).stdout],
      ['No personal access tokens for "ghost".\n', '[]\n'],
    );
  });

  it('reports mistakes as one line on stderr with exit code 1', async function () {
    assertOneLineError(await cli('revoke', 'jane'), /^jwt-gate: Give either token ids or --all/);
    assertOneLineError(
      await cli('revoke', 'jane', 'x', '--all'),
      /^jwt-gate: Give either token ids or --all/,
    );
    assertOneLineError(await cli('create', 'jane', '--name', 'x', '--scope', 'a b'), /"a b" holds a space/);
    const noName = await cli('create', 'jane');
    assert.equal(noName.code, 1);
    assert.match(noName.stderr, /required option '--name <text>' not specified/);
    const badExpiry = await cli('create', 'jane', '--name', 'x', '--expiry', '8');
    assert.equal(badExpiry.code, 1);
    assert.match(badExpiry.stderr, /Allowed choices are OneHour, 1, 7, 30, 60, 90, Unlimited/);
    const broken = join(dir, 'no-key.yaml');
    writeFileSync(
      broken,
      readFileSync(config, 'utf8').replace('./keys/private_key.der', './keys/absent.der'),
    );
    assert.equal((await runMain('tokens', 'list', 'jane', '--config', broken)).code, 0);
    assertOneLineError(
      await runMain('tokens', 'create', 'jane', '--name', 'x', '--config', broken),
      /rsaprivateKeyFilePath/,
    );
  });

  it('works as a real command: JWT_GATE_CONFIG names the file and $(…) captures exactly the token', async function () {
    const result = await runCli(['tokens', 'create', 'cron', '--name', 'nightly'], {
      ...process.env,
      JWT_GATE_CONFIG: config,
    });
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trimEnd();
    assert.ok(!token.includes('\n'));
    assert.equal((await tables(token)).status, 200);
  });
});
