import assert from 'node:assert/strict';
import request from 'supertest';
import { MemoryStore } from '../lib/store/memory-store.js';
import { hashToken } from '../lib/store/token-hash.js';
import {
  type BotApp,
  bearer,
  botGateOptions,
  type SsoFixture,
  startBotApp,
  startSso,
} from './support/bot-app.js';

interface TokenBody {
  JWTToken: string;
  JWTTokenExpiry: string;
  JWTTokenExpiresAt: number | null;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('bot API (memory store)', function () {
  let sso: SsoFixture;
  let store: MemoryStore;
  let server: BotApp;
  let admin: Record<string, string>;
  const opened: BotApp[] = [];

  before(async function () {
    sso = await startSso();
    admin = bearer(sso.token('admin'));
  });
  after(() => sso.close());
  beforeEach(async function () {
    store = new MemoryStore();
    server = await startBotApp(sso, { store });
    opened.push(server);
  });
  afterEach(async function () {
    for (const { gate } of opened.splice(0)) await gate.close();
  });

  const createBot = (name: string, body: Record<string, unknown> = {}) =>
    request(server.app)
      .post('/api/v1/bots')
      .set(admin)
      .send({ name, ...body });
  const generate = async (name: string, expiry: unknown = '7'): Promise<TokenBody> => {
    const res = await request(server.app)
      .put(`/api/v1/bots/${name}/token`)
      .set(admin)
      .send({ JWTTokenExpiry: expiry });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as TokenBody;
  };
  const tables = (token: string) => request(server.app).get('/api/v1/tables').set(bearer(token));

  it('has an ingestion-bot after the first start, created by system, and does not bring it back once deleted', async function () {
    const list = await request(server.app).get('/api/v1/bots').set(admin);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((b: { name: string; createdBy: string; token: unknown }) => [
        b.name,
        b.createdBy,
        b.token,
      ]),
      [['ingestion-bot', 'system', null]],
    );
    assert.equal(list.body.paging.total, 1);
    const again = await startBotApp(sso, { store });
    opened.push(again);
    assert.equal((await store.listBots()).length, 1, 'a second start on the same store adds nothing');
    assert.equal((await request(server.app).delete('/api/v1/bots/ingestion-bot').set(admin)).status, 200);
    opened.push(await startBotApp(sso, { store }));
    assert.deepEqual(await store.listBots(), [], 'an admin deleted it: a restart respects that');
  });

  it('creates, shows and deletes bots; 400 for bad names with the rule, 404 unknown, 409 duplicate', async function () {
    const created = await createBot('etl.nightly_1', {
      displayName: 'Nightly ETL',
      description: 'loads tables',
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.location, '/api/v1/bots/etl.nightly_1');
    assert.equal(created.headers['cache-control'], 'no-store');
    assert.deepEqual(
      { ...created.body, createdAt: typeof created.body.createdAt },
      {
        name: 'etl.nightly_1',
        displayName: 'Nightly ETL',
        description: 'loads tables',
        createdAt: 'number',
        createdBy: 'admin <admin@example.com>',
        allowedScopes: [],
        requireDpop: false,
        token: null,
      },
    );
    const shown = await request(server.app).get('/api/v1/bots/etl.nightly_1').set(admin);
    assert.deepEqual(shown.body, created.body);
    assert.equal((await createBot('plain')).body.displayName, 'plain', 'display name defaults to the name');

    const duplicate = await createBot('etl.nightly_1');
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.errorCode, 'ERR_CONFLICT');

    for (const bad of ['Upper', '*', '', '-lead', 'a/b', 'a b', 'x'.repeat(65), 'é', 42, null]) {
      const res = await createBot(bad as string);
      assert.equal(res.status, 400, `name ${JSON.stringify(bad)}`);
      assert.equal(res.body.errorCode, 'ERR_BAD_REQUEST');
      assert.match(
        res.body.message,
        /lower-case letters a-z, digits, "\.", "_" and "-", starting with a letter or digit/,
      );
    }
    assert.equal((await createBot('x'.repeat(64))).status, 201, '64 characters is the limit');
    assert.equal((await createBot('ok', { displayName: 'a\u0000b' })).status, 400);
    assert.equal((await request(server.app).get('/api/v1/bots/Upper').set(admin)).status, 400);

    for (const [method, path] of [
      ['get', '/api/v1/bots/ghost'],
      ['delete', '/api/v1/bots/ghost'],
      ['put', '/api/v1/bots/ghost/token'],
      ['get', '/api/v1/bots/ghost/token'],
      ['delete', '/api/v1/bots/ghost/token'],
      ['put', '/api/v1/users/generateToken/ghost'],
      ['get', '/api/v1/users/token/ghost'],
    ] as const) {
      const res = await request(server.app)[method](path).set(admin).send({ JWTTokenExpiry: '7' });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.errorCode, 'ERR_NOT_FOUND');
    }
    assert.equal(
      (await request(server.app).put('/api/v1/users/revokeToken').set(admin).send({ id: 'ghost' })).status,
      404,
    );

    const deleted = await request(server.app).delete('/api/v1/bots/etl.nightly_1').set(admin);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.name, 'etl.nightly_1');
    assert.equal((await request(server.app).get('/api/v1/bots/etl.nightly_1').set(admin)).status, 404);
  });

  it('generates a BOT token that works at once; regenerating, revoking and deleting the bot each kill it at once', async function () {
    await createBot('etl');
    const before = Date.now();
    const first = await generate('etl', '7');
    assert.equal(first.JWTTokenExpiry, '7');
    assert.ok(Math.abs(first.JWTTokenExpiresAt! - (before + 7 * 86_400_000)) < 5000);
    const claims = claimsOf(first.JWTToken);
    assert.equal(claims.sub, 'etl');
    assert.equal(claims.email, 'etl@example.com');
    assert.equal(claims.isBot, true);
    assert.equal(claims.tokenType, 'BOT');
    assert.equal(typeof claims.jti, 'string');

    const ok = await tables(first.JWTToken);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.principal.name, 'etl');
    assert.equal(ok.body.principal.isBot, true);

    const second = await generate('etl', 'Unlimited');
    assert.equal(second.JWTTokenExpiresAt, null);
    assert.equal(claimsOf(second.JWTToken).exp, undefined);
    const replaced = await tables(first.JWTToken);
    assert.equal(replaced.status, 401);
    assert.equal(replaced.body.errorCode, 'ERR_TOKEN_REVOKED');
    assert.match(String(replaced.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal((await tables(second.JWTToken)).status, 200);

    const revoked = await request(server.app).delete('/api/v1/bots/etl/token').set(admin);
    assert.deepEqual(revoked.body, { botName: 'etl', revoked: true, jti: claimsOf(second.JWTToken).jti });
    assert.equal((await tables(second.JWTToken)).status, 401);
    const again = await request(server.app).delete('/api/v1/bots/etl/token').set(admin);
    assert.deepEqual(again.body, { botName: 'etl', revoked: false, jti: null });

    const third = await generate('etl');
    assert.equal((await tables(third.JWTToken)).status, 200);
    assert.equal((await request(server.app).delete('/api/v1/bots/etl').set(admin)).status, 200);
    assert.equal((await tables(third.JWTToken)).status, 401);
    await createBot('etl');
    assert.equal((await tables(third.JWTToken)).status, 401, 'a re-created bot does not revive old tokens');
  });

  it('answers the reference shapes: generateToken, token metadata and revokeToken {id}', async function () {
    await createBot('airflow');
    const res = await request(server.app)
      .put('/api/v1/users/generateToken/airflow')
      .set(admin)
      .send({ JWTTokenExpiry: 'OneHour' });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['JWTToken', 'JWTTokenExpiresAt', 'JWTTokenExpiry']);
    assert.equal(res.headers['cache-control'], 'no-store');
    const token = (res.body as TokenBody).JWTToken;
    assert.equal((await tables(token)).status, 200);

    const meta = await request(server.app).get('/api/v1/users/token/airflow').set(admin);
    assert.equal(meta.status, 200);
    assert.equal(meta.body.JWTTokenExpiry, 'OneHour');
    assert.equal(meta.body.jti, claimsOf(token).jti);
    assert.equal(meta.body.last4, token.slice(-4));

    const revoked = await request(server.app)
      .put('/api/v1/users/revokeToken')
      .set(admin)
      .send({ id: 'airflow' });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.revoked, true);
    assert.equal((await tables(token)).status, 401);
    assert.equal(
      (await request(server.app).put('/api/v1/users/revokeToken').set(admin).send({})).status,
      400,
    );
  });

  it('shows token metadata (jti, times, last 4) but never the token or its hash, in responses or the store', async function () {
    await createBot('etl');
    const { JWTToken: token } = await generate('etl', '30');
    const unused = await request(server.app).get('/api/v1/bots/etl/token').set(admin);
    assert.equal(unused.body.lastUsedAt, null);
    await tables(token);
    const meta = await request(server.app).get('/api/v1/bots/etl/token').set(admin);
    assert.equal(meta.status, 200);
    assert.equal(meta.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(meta.body).sort(), [
      'JWTTokenExpiresAt',
      'JWTTokenExpiry',
      'botName',
      'dpopJkt',
      'expiresAt',
      'expiry',
      'issuedAt',
      'issuedBy',
      'jti',
      'last4',
      'lastUsedAt',
      'scopes',
    ]);
    assert.equal(meta.body.issuedBy, 'admin <admin@example.com>');
    assert.equal(typeof meta.body.lastUsedAt, 'number', 'a use shows before it is written to the store');
    assert.equal((await store.getCurrentToken('etl'))!.lastUsedAt, null, 'no write per request');

    const signature = token.split('.')[2]!;
    const views = [
      meta,
      await request(server.app).get('/api/v1/bots').set(admin),
      await request(server.app).get('/api/v1/bots/etl').set(admin),
    ];
    for (const view of views) {
      assert.ok(!view.text.includes(signature), 'no token in GET responses');
      assert.ok(!view.text.includes(hashToken(token)), 'no hash in GET responses');
    }
    const persisted = JSON.stringify([await store.listCurrentTokens(), await store.listAudit()]);
    assert.ok(!persisted.includes(signature), 'the store keeps no token');
    assert.ok(persisted.includes(hashToken(token)), 'only its hash');

    await server.gate.close();
    assert.equal(
      typeof (await store.getCurrentToken('etl'))!.lastUsedAt,
      'number',
      'close() writes buffered uses',
    );
  });

  it('audits every create, mint, revoke and delete with who and when', async function () {
    await createBot('etl');
    const { JWTToken: t1 } = await generate('etl');
    const { JWTToken: t2 } = await generate('etl');
    await request(server.app).delete('/api/v1/bots/etl/token').set(admin);
    await request(server.app).delete('/api/v1/bots/etl').set(admin);
    const rows = (await server.gate.bots.listAudit({ botName: 'etl' })).reverse();
    const [jti1, jti2] = [claimsOf(t1).jti, claimsOf(t2).jti];
    assert.deepEqual(
      rows.map((r) => [r.actor, r.action, r.jti]),
      [
        ['admin <admin@example.com>', 'bot.create', null],
        ['admin <admin@example.com>', 'token.issue', jti1],
        ['admin <admin@example.com>', 'token.revoke', jti1],
        ['admin <admin@example.com>', 'token.issue', jti2],
        ['admin <admin@example.com>', 'token.revoke', jti2],
        ['admin <admin@example.com>', 'bot.delete', null],
      ],
    );
    assert.ok(rows.every((r) => typeof r.at === 'number' && r.at > Date.now() - 10_000));
    assert.ok(!JSON.stringify(rows).includes(t1.split('.')[2]!));
  });

  it('refuses bad input: expiry, JSON, body shape and size', async function () {
    await createBot('etl');
    const put = () => request(server.app).put('/api/v1/bots/etl/token').set(admin);
    const badExpiry = await put().send({ JWTTokenExpiry: '8' });
    assert.equal(badExpiry.status, 400);
    assert.equal(badExpiry.body.errorCode, 'ERR_EXPIRY_INVALID');
    assert.match(badExpiry.body.message, /"OneHour", "1", "7", "30", "60", "90", "Unlimited"/);
    assert.equal((await put().send({})).status, 400, 'the expiry is required');
    const broken = await put().set('Content-Type', 'application/json').send('{"JWTTokenExpiry":');
    assert.equal(broken.status, 400);
    assert.deepEqual(broken.body, {
      code: 400,
      message: 'The request body is not valid JSON.',
      errorCode: 'ERR_BAD_REQUEST',
    });
    assert.equal((await put().send(['7'])).status, 400);
    const huge = await put().send({ JWTTokenExpiry: '7', pad: 'x'.repeat(20_000) });
    assert.equal(huge.status, 413);
    assert.equal(await store.getCurrentToken('etl'), null, 'nothing was minted');
    const wrongMethod = await request(server.app).patch('/api/v1/bots').set(admin);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD, POST');
  });

  it('admits admins only: anonymous 401, a non-admin person 403, any bot token 403 (even one listed as admin)', async function () {
    await createBot('ops-bot');
    await createBot('etl');
    const opsBot = (await generate('ops-bot')).JWTToken;
    const me = await tables(opsBot);
    assert.equal(me.body.principal.isAdmin, true, 'ops-bot is listed in adminPrincipals');
    const callers: Array<[string, Record<string, string>, number]> = [
      ['anonymous', {}, 401],
      ['alice', bearer(sso.token('alice')), 403],
      ['ops-bot', bearer(opsBot), 403],
    ];
    const routes: Array<['get' | 'post' | 'put' | 'delete', string, object?]> = [
      ['get', '/api/v1/bots'],
      ['post', '/api/v1/bots', { name: 'evil' }],
      ['get', '/api/v1/bots/etl'],
      ['delete', '/api/v1/bots/etl'],
      ['put', '/api/v1/bots/etl/token', { JWTTokenExpiry: '7' }],
      ['get', '/api/v1/bots/etl/token'],
      ['delete', '/api/v1/bots/ops-bot/token'],
      ['put', '/api/v1/users/generateToken/etl', { JWTTokenExpiry: '7' }],
      ['put', '/api/v1/users/revokeToken', { id: 'ops-bot' }],
      ['get', '/api/v1/users/token/etl'],
    ];
    for (const [who, headers, status] of callers) {
      for (const [method, path, body] of routes) {
        const res = await request(server.app)[method](path).set(headers).send(body);
        assert.equal(res.status, status, `${who} ${method} ${path}`);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="jwt-gate"/);
        assert.ok(!('JWTToken' in res.body));
      }
    }
    assert.deepEqual(
      (await store.listBots()).map((b) => b.name),
      ['etl', 'ingestion-bot', 'ops-bot'],
      'nothing changed',
    );
    assert.equal(await store.getCurrentToken('etl'), null);
    assert.equal((await tables(opsBot)).status, 200, 'ops-bot still holds its token');
    const people = await tables(sso.token('alice'));
    assert.equal(people.status, 200, 'the router at the root leaves other routes alone');
  });

  it('leaves exactly one valid token after concurrent regenerations', async function () {
    await createBot('etl');
    const tokens = await Promise.all(Array.from({ length: 6 }, () => generate('etl')));
    const valid = [];
    for (const { JWTToken } of tokens) if ((await tables(JWTToken)).status === 200) valid.push(JWTToken);
    assert.equal(valid.length, 1);
    assert.equal((await store.getCurrentToken('etl'))!.jti, claimsOf(valid[0]!).jti);
  });

  it('reports the store in health to an admin, and only the status to others', async function () {
    const res = await request(server.app).get('/api/v1/system/health').set(admin);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.store, { kind: 'memory', healthy: true });
    const anonymous = await request(server.app).get('/api/v1/system/health');
    assert.deepEqual(anonymous.body, { status: 'ok' });
  });

  it('opens the store named by database.url when none is injected', async function () {
    const gate = (await startBotApp(sso, {}, botGateOptions(sso, 'memory:'))).gate;
    opened.push({ gate } as BotApp);
    assert.equal(gate.health().store?.kind, 'memory');
    assert.deepEqual(
      (await gate.bots.listBots()).map((b) => b.name),
      ['ingestion-bot'],
    );
  });
});
