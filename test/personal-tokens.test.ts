/**
 * Personal access tokens (issue 19, docs/bots.md#personal-access-tokens): a signed-in person mints,
 * lists and revokes their own tokens through the reference's paths; an admin manages anyone's.
 * Each promise is checked on every store the docs offer: memory, SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request, { type Response } from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import { PostgresStore } from '../lib/store/postgres-store.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import type { BotStore } from '../lib/store/types.js';
import {
  type BotApp,
  bearer,
  botGateOptions,
  eventually,
  type SsoFixture,
  startBotApp,
  startSso,
  writeBotConfig,
} from './support/bot-app.js';
import { adminQuery, requirePostgres, TEST_DATABASE_URL, testSchemaName } from './support/postgres.js';
import { describeEachStore } from './support/store-kinds.js';

const TOKEN_PATH = '/api/v1/users/security/token';
const REVOKE_PATH = '/api/v1/users/security/token/revoke';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

function assertRevoked(res: Response, what: string): void {
  assert.equal(res.status, 401, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errorCode, 'ERR_TOKEN_REVOKED', what);
  assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, what);
}

let dir: string;

describe('personal access tokens', function () {
  let sso: SsoFixture;
  before(async function () {
    sso = await startSso();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-personal-tokens-'));
  });
  after(async function () {
    await sso.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describeEachStore((kind) => {
    let store: BotStore;
    let server: BotApp;
    const alice = () => bearer(sso.token('alice'));
    const admin = () => bearer(sso.token('admin'));

    beforeEach(async function () {
      store = kind.open();
      server = await startBotApp(
        sso,
        { store },
        {
          ...botGateOptions(sso),
          authenticationConfiguration: {
            ...botGateOptions(sso).authenticationConfiguration,
            defaultScopes: ['tables:read', 'tables:write'],
          },
          personalTokenConfiguration: { maxTokensPerUser: 3 },
        },
      );
    });
    afterEach(async function () {
      await server.gate.close();
      await store.close();
    });

    const mint = (who: Record<string, string>, body: Record<string, unknown>) =>
      request(server.app).put(TOKEN_PATH).set(who).send(body);
    async function mintOk(who: Record<string, string>, body: Record<string, unknown>): Promise<string> {
      const res = await mint(who, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body as { JWTToken: string }).JWTToken;
    }
    const tables = (token: string) => request(server.app).get('/api/v1/tables').set(bearer(token));

    it("mints a token for the signed-in person: their name and email, PERSONAL_ACCESS, not a bot, and within the person's scopes", async function () {
      const res = await mint(alice(), {
        tokenName: 'laptop',
        JWTTokenExpiry: '7',
        scopes: ['tables:read'],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers['cache-control'], 'no-store');
      const body = res.body as Record<string, unknown>;
      assert.equal(body.tokenName, 'laptop');
      assert.equal(body.JWTTokenExpiry, '7');
      assert.deepEqual(body.scopes, ['tables:read']);
      const token = body.JWTToken as string;
      assert.equal(body.last4, token.slice(-4));
      const claims = claimsOf(token);
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.email, 'alice@example.com');
      assert.equal(claims.tokenType, 'PERSONAL_ACCESS');
      assert.equal(claims.isBot, false);
      assert.equal(claims.scope, 'tables:read');
      assert.equal(claims.jti, body.id);

      const used = await tables(token);
      assert.equal(used.status, 200, JSON.stringify(used.body));
      const principal = used.body.principal as Record<string, unknown>;
      assert.equal(principal.name, 'alice');
      assert.equal(principal.tokenType, 'PERSONAL_ACCESS');
      assert.equal(principal.isBot, false);
      assert.equal(principal.isAdmin, false);
      assert.deepEqual(principal.scopes, ['tables:read']);

      // Default: all of the person's own scopes; never one they lack.
      assert.equal(
        claimsOf(await mintOk(alice(), { tokenName: 'ci', JWTTokenExpiry: 'OneHour' })).scope,
        'tables:read tables:write',
      );
      const beyond = await mint(alice(), { tokenName: 'x', JWTTokenExpiry: '7', scopes: ['bots:admin'] });
      assert.equal(beyond.status, 400);
      assert.match(beyond.body.message, /bots:admin/);
    });

    it('lists the tokens without the tokens themselves, and revokes one so it fails on the very next request', async function () {
      const first = await mintOk(alice(), { tokenName: 'laptop', JWTTokenExpiry: '7' });
      const second = await mintOk(alice(), { tokenName: 'ci', JWTTokenExpiry: 'Unlimited' });
      assert.equal((await tables(first)).status, 200);
      assert.equal((await tables(first)).status, 200); // cached from here on

      const listed = await request(server.app).get(TOKEN_PATH).set(alice());
      assert.equal(listed.status, 200);
      const data = listed.body.data as Array<Record<string, unknown>>;
      assert.deepEqual(data.map((t) => t.tokenName).sort(), ['ci', 'laptop']);
      assert.ok(!JSON.stringify(listed.body).includes(first.split('.')[2]!), 'never the token');
      assert.ok(data.every((t) => !('JWTToken' in t) && !('tokenHash' in t)));
      const firstId = claimsOf(first).jti as string;

      const revoked = await request(server.app)
        .put(REVOKE_PATH)
        .set(alice())
        .send({ tokenIds: [firstId] });
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.deepEqual(revoked.body.revoked, [firstId]);
      assertRevoked(await tables(first), 'the revoked token');
      assert.equal((await tables(second)).status, 200, 'the other token still works');

      const audit = await server.gate.bots.listAudit({ userName: 'alice' });
      assert.deepEqual(
        audit.map((e) => [e.action, e.jti]),
        [
          ['personal-token.revoke', firstId],
          ['personal-token.issue', claimsOf(second).jti],
          ['personal-token.issue', firstId],
        ],
      );
      assert.ok(
        audit.every((e) => e.userName === 'alice' && e.actor.startsWith('alice <alice@example.com>')),
      );
    });

    it('holds a person to the limit of live tokens; a revoked one frees a place', async function () {
      for (const name of ['a', 'b', 'c']) await mintOk(alice(), { tokenName: name, JWTTokenExpiry: '7' });
      const over = await mint(alice(), { tokenName: 'd', JWTTokenExpiry: '7' });
      assert.equal(over.status, 409, JSON.stringify(over.body));
      assert.match(over.body.message, /3/);
      // Someone else's limit is their own.
      await mintOk(bearer(sso.token('bob')), { tokenName: 'b', JWTTokenExpiry: '7' });
      const all = await request(server.app).put(`${REVOKE_PATH}?removeAll=true`).set(alice()).send({});
      assert.equal(all.body.revoked.length, 3);
      await mintOk(alice(), { tokenName: 'd', JWTTokenExpiry: '7' });
    });

    it('refuses bots (400), a personal token minting another (403), and bad fields (400)', async function () {
      const minted = await request(server.app)
        .put('/api/v1/bots/ingestion-bot/token')
        .set(admin())
        .send({ JWTTokenExpiry: '7' });
      const bot = bearer(minted.body.JWTToken as string);
      assert.equal((await mint(bot, { tokenName: 'x', JWTTokenExpiry: '7' })).status, 400);
      assert.equal((await request(server.app).get(TOKEN_PATH).set(bot)).status, 400);
      assert.equal((await request(server.app).put(REVOKE_PATH).set(bot).send({ tokenIds: [] })).status, 400);

      const personal = await mintOk(alice(), { tokenName: 'laptop', JWTTokenExpiry: '7' });
      const again = await mint(bearer(personal), { tokenName: 'longer', JWTTokenExpiry: 'Unlimited' });
      assert.equal(again.status, 403);
      assert.equal(again.body.errorCode, 'ERR_FORBIDDEN');

      assert.equal((await mint(alice(), { JWTTokenExpiry: '7' })).status, 400);
      assert.equal(
        (await mint(alice(), { tokenName: 'x', JWTTokenExpiry: '8' })).body.errorCode,
        'ERR_EXPIRY_INVALID',
      );
      assert.equal(
        (await request(server.app).put(REVOKE_PATH).set(alice()).send({ tokenIds: 'x' })).status,
        400,
      );
      assert.equal((await request(server.app).put(TOKEN_PATH)).status, 401);
    });

    it("lets only an admin see and revoke another person's tokens", async function () {
      const token = await mintOk(alice(), { tokenName: 'laptop', JWTTokenExpiry: '7' });
      const bob = bearer(sso.token('bob'));
      assert.equal((await request(server.app).get(`${TOKEN_PATH}?username=alice`).set(bob)).status, 403);
      const notBobs = await request(server.app)
        .put(`${REVOKE_PATH}?username=alice`)
        .set(bob)
        .send({ tokenIds: [claimsOf(token).jti] });
      assert.equal(notBobs.status, 403);
      // Bob's own revoke list never reaches Alice's tokens.
      await request(server.app)
        .put(REVOKE_PATH)
        .set(bob)
        .send({ tokenIds: [claimsOf(token).jti] });
      assert.equal((await tables(token)).status, 200);

      const seen = await request(server.app).get(`${TOKEN_PATH}?username=Alice`).set(admin());
      assert.equal(seen.status, 200);
      assert.equal(seen.body.data.length, 1);
      const byAdmin = await request(server.app)
        .put(`${REVOKE_PATH}?username=alice&removeAll=true`)
        .set(admin())
        .send({});
      assert.deepEqual(byAdmin.body.revoked, [claimsOf(token).jti]);
      assertRevoked(await tables(token), 'revoked by an admin');
      const audit = await server.gate.bots.listAudit({ userName: 'alice', limit: 1 });
      assert.match(audit[0]!.actor, /^admin </);
    });

    it("is an admin's token only while its person is an admin by verified email, never through a chosen name", async function () {
      // Signed in as "admin" by a chosen username, with an address outside principalDomain.
      const impostor = bearer(
        sso.sign({ sub: 'x-1', preferred_username: 'admin', email: 'admin@evil.example' }),
      );
      const token = await mintOk(impostor, { tokenName: 'escalate', JWTTokenExpiry: '7' });
      assert.equal(claimsOf(token).sub, 'admin');
      const used = await tables(token);
      assert.equal(used.status, 200);
      assert.equal(used.body.principal.isAdmin, false);
      assert.equal((await request(server.app).get('/api/v1/bots').set(bearer(token))).status, 403);

      const real = await mintOk(admin(), { tokenName: 'ops', JWTTokenExpiry: '7' });
      assert.equal((await tables(real)).body.principal.isAdmin, true);
      assert.equal((await request(server.app).get('/api/v1/bots').set(bearer(real))).status, 200);
    });
  });

  describe('revoked on one instance, refused on the next request on another', function () {
    for (const kind of ['SQLite', 'PostgreSQL'] as const) {
      describe(kind, function () {
        let a: BotApp;
        let b: BotApp;
        let schema: string;
        const stores: BotStore[] = [];
        before(async function () {
          if (kind === 'PostgreSQL') await requirePostgres(this);
          schema = testSchemaName();
          const configPath = await writeBotConfig(
            mkdtempSync(join(dir, 'two-')),
            sso,
            kind === 'SQLite' ? 'sqlite:./data/tokens.db' : 'memory:',
          );
          const config = loadConfig({ path: configPath });
          const open = (): BotStore => {
            const store =
              kind === 'SQLite'
                ? new SqliteStore({
                    path: join(configPath, '..', 'data', 'tokens.db'),
                    pollIntervalMs: 60_000,
                  })
                : new PostgresStore({ url: TEST_DATABASE_URL, schema });
            stores.push(store);
            return store;
          };
          a = await startBotApp(sso, { store: open() }, config);
          b = await startBotApp(sso, { store: open() }, config);
        });
        after(async function () {
          for (const server of [a, b]) await server?.gate.close();
          for (const store of stores.splice(0)) await store.close();
          if (kind === 'PostgreSQL') await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        });

        it('mints on A, works on B; revoked on A, refused on B (cached verification included)', async function () {
          const alice = bearer(sso.token('alice'));
          const minted = await request(a.app)
            .put(TOKEN_PATH)
            .set(alice)
            .send({ tokenName: 't', JWTTokenExpiry: '7' });
          assert.equal(minted.status, 200, JSON.stringify(minted.body));
          const token = minted.body.JWTToken as string;
          for (let i = 0; i < 2; i++) {
            const res = await request(b.app).get('/api/v1/tables').set(bearer(token));
            assert.equal(res.status, 200, JSON.stringify(res.body));
          }
          const revoked = await request(a.app)
            .put(REVOKE_PATH)
            .set(alice)
            .send({ tokenIds: [minted.body.id] });
          assert.deepEqual(revoked.body.revoked, [minted.body.id]);
          const onB = () => request(b.app).get('/api/v1/tables').set(bearer(token));
          if (kind === 'SQLite') {
            // No wait: the check reads the file's change counter before answering.
            assertRevoked(await onB(), 'on B, the very next request');
          } else {
            // PostgreSQL delivers the change by NOTIFY (docs/security.md#revocation).
            await eventually(async () => (await onB()).status === 401, 3000, 'refused on B');
            assertRevoked(await onB(), 'on B');
          }
          assertRevoked(await request(a.app).get('/api/v1/tables').set(bearer(token)), 'on A');
        });
      });
    }
  });
});
