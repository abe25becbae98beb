import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { jwkThumbprint } from '../lib/keys/jwk-thumbprint.js';
import type { JwtGate } from '../lib/gate.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import type { BotStore } from '../lib/store/types.js';
import { mintToken } from '../lib/tokens/mint-token.js';
import { bearer, botGateOptions, type SsoFixture, startBotApp, startSso } from './support/bot-app.js';
import { describeEachStore } from './support/store-kinds.js';
import { testKeySet } from './support/tokens.js';

/**
 * Minting DPoP-bound bot tokens (issue 20): `dpopJkt` on the token route puts `cnf.jkt` in the
 * token and the thumbprint in the store and the metadata; `requireDpop` refuses unbound mints and,
 * when turned on, revokes a current unbound token. Verifying proofs is tested elsewhere.
 */

/** The thumbprint of a fresh P-256 key: what a client would send as `dpopJkt`. */
function newJkt(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return jwkThumbprint({ kty: kty!, crv: crv!, x: x!, y: y! });
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('minting DPoP-bound bot tokens', function () {
  describe('mintToken', function () {
    const issuer = { issuer: 'i', audience: 'a', key: testKeySet().signing };
    const claims = { subject: 'etl', isBot: true, tokenType: 'BOT', expiry: '7' } as const;

    it('adds cnf.jkt (RFC 9449 §6.1) when bound, and no cnf otherwise', function () {
      const jkt = newJkt();
      assert.deepEqual(mintToken(issuer, { ...claims, dpopJkt: jkt }).claims.cnf, { jkt });
      assert.deepEqual(claimsOf(mintToken(issuer, { ...claims, dpopJkt: jkt }).token).cnf, { jkt });
      assert.equal('cnf' in claimsOf(mintToken(issuer, claims).token), false);
    });

    it('refuses a dpopJkt that is not a SHA-256 thumbprint', function () {
      for (const dpopJkt of ['', 'abc', `${newJkt()}=`, `${newJkt().slice(0, 42)}+`]) {
        assert.throws(() => mintToken(issuer, { ...claims, dpopJkt }), {
          name: 'TypeError',
          message: /43 base64url characters/,
        });
      }
    });
  });

  let sso: SsoFixture;
  let admin: Record<string, string>;
  before(async function () {
    sso = await startSso();
    admin = bearer(sso.token('admin'));
  });
  after(async function () {
    await sso.close();
  });

  describeEachStore((kind) => {
    let store: BotStore;
    let gate: JwtGate;
    let app: Express;

    beforeEach(async function () {
      store = kind.open();
      ({ app, gate } = await startBotApp(sso, { store }));
    });
    afterEach(async function () {
      await gate.close();
      await store.close();
    });

    const generate = (name: string, body: Record<string, unknown>, path = `/api/v1/bots/${name}/token`) =>
      request(app).put(path).set(admin).send(body);
    const patch = (name: string, body: Record<string, unknown>) =>
      request(app).patch(`/api/v1/bots/${name}`).set(admin).send(body);
    const metadata = (name: string) => request(app).get(`/api/v1/bots/${name}/token`).set(admin);

    it('binds a token to dpopJkt: cnf.jkt in the token, dpopJkt in the store, the metadata and the audit', async function () {
      const jkt = newJkt();
      const minted = await generate('ingestion-bot', { JWTTokenExpiry: '7', dpopJkt: jkt });
      assert.equal(minted.status, 200, JSON.stringify(minted.body));
      const claims = claimsOf(minted.body.JWTToken);
      assert.deepEqual(claims.cnf, { jkt });
      assert.equal((await store.getCurrentToken('ingestion-bot'))?.dpopJkt, jkt);
      assert.equal((await metadata('ingestion-bot')).body.dpopJkt, jkt);
      const listed = await request(app).get('/api/v1/bots').set(admin);
      assert.equal(listed.body.data[0].token.dpopJkt, jkt);
      const [issued] = await gate.bots.listAudit({ botName: 'ingestion-bot', limit: 1 });
      assert.deepEqual(
        [issued?.action, issued?.jti, issued?.detail],
        ['token.issue', claims.jti, `expiry 7, bound to key ${jkt}`],
      );

      const other = newJkt();
      const alias = await generate(
        'ingestion-bot',
        { JWTTokenExpiry: '1', dpopJkt: other },
        '/api/v1/users/generateToken/ingestion-bot',
      );
      assert.equal(alias.status, 200, JSON.stringify(alias.body));
      assert.deepEqual(claimsOf(alias.body.JWTToken).cnf, { jkt: other });
      assert.equal(
        (await request(app).get('/api/v1/users/token/ingestion-bot').set(admin)).body.dpopJkt,
        other,
      );

      const unbound = await generate('ingestion-bot', { JWTTokenExpiry: '7', dpopJkt: null });
      assert.equal(unbound.status, 200);
      assert.equal('cnf' in claimsOf(unbound.body.JWTToken), false);
      assert.equal((await metadata('ingestion-bot')).body.dpopJkt, null);
    });

    it('refuses a malformed dpopJkt with 400 and mints nothing', async function () {
      const current = (await generate('ingestion-bot', { JWTTokenExpiry: '7' })).body.JWTToken as string;
      const jkt = newJkt();
      for (const dpopJkt of [
        '',
        'short',
        `${jkt}A`,
        `${jkt.slice(0, 42)}=`,
        `${jkt.slice(0, 42)}/`,
        42,
        {},
      ]) {
        const bad = await generate('ingestion-bot', { JWTTokenExpiry: '7', dpopJkt });
        assert.equal(bad.status, 400, JSON.stringify(dpopJkt));
        assert.equal(bad.body.errorCode, 'ERR_BAD_REQUEST');
        assert.match(bad.body.message, /^dpopJkt must be the RFC 7638 SHA-256 thumbprint.*43 base64url/);
      }
      assert.equal((await metadata('ingestion-bot')).body.jti, claimsOf(current).jti);
      assert.equal((await request(app).get('/api/v1/tables').set(bearer(current))).status, 200);
    });

    it('a bot created with requireDpop refuses an unbound mint with 400 naming the fix, and mints a bound one', async function () {
      const created = await request(app)
        .post('/api/v1/bots')
        .set(admin)
        .send({ name: 'etl', requireDpop: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.requireDpop, true);
      assert.equal((await store.getBot('etl'))?.requireDpop, true);

      const unbound = await generate('etl', { JWTTokenExpiry: '7' });
      assert.equal(unbound.status, 400);
      assert.equal(unbound.body.errorCode, 'ERR_BAD_REQUEST');
      assert.match(
        unbound.body.message,
        /^Bot "etl" requires DPoP-bound tokens: send "dpopJkt".*jwt-gate bots token etl --dpop-key.*PATCH \/api\/v1\/bots\/etl \{"requireDpop": false\}/,
      );
      assert.equal((await metadata('etl')).status, 404, 'nothing minted');

      const jkt = newJkt();
      const bound = await generate('etl', { JWTTokenExpiry: '7', dpopJkt: jkt });
      assert.equal(bound.status, 200, JSON.stringify(bound.body));
      assert.deepEqual(claimsOf(bound.body.JWTToken).cnf, { jkt });

      for (const requireDpop of ['yes', 1]) {
        const bad = await request(app).post('/api/v1/bots').set(admin).send({ name: 'x', requireDpop });
        assert.equal(bad.status, 400, JSON.stringify(requireDpop));
        assert.match(bad.body.message, /requireDpop must be true or false/);
      }
      const plain = await request(app).post('/api/v1/bots').set(admin).send({ name: 'plain' });
      assert.equal(plain.body.requireDpop, false);
    });

    it('PATCH requireDpop round trip: audited, revokes a current unbound token, keeps a bound one', async function () {
      const unbound = (await generate('ingestion-bot', { JWTTokenExpiry: '7' })).body.JWTToken as string;
      assert.equal((await request(app).get('/api/v1/tables').set(bearer(unbound))).status, 200);

      const on = await patch('ingestion-bot', { requireDpop: true });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.equal(on.body.requireDpop, true);
      assert.equal(on.body.token, null, 'the unbound token is revoked');
      assert.equal((await request(app).get('/api/v1/tables').set(bearer(unbound))).status, 401);
      const [revoked, updated] = await gate.bots.listAudit({ botName: 'ingestion-bot', limit: 2 });
      assert.deepEqual([revoked?.action, revoked?.jti], ['token.revoke', claimsOf(unbound).jti]);
      assert.deepEqual([updated?.action, updated?.detail], ['bot.update', 'requireDpop true']);
      assert.equal((await request(app).get('/api/v1/bots/ingestion-bot').set(admin)).body.requireDpop, true);

      const jkt = newJkt();
      const bound = (await generate('ingestion-bot', { JWTTokenExpiry: '7', dpopJkt: jkt })).body
        .JWTToken as string;
      const again = await patch('ingestion-bot', { requireDpop: true });
      assert.equal(again.body.token.dpopJkt, jkt, 'a bound token is kept');
      assert.equal(again.body.token.jti, claimsOf(bound).jti);

      const off = await patch('ingestion-bot', { requireDpop: false, allowedScopes: ['tables:read'] });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.deepEqual([off.body.requireDpop, off.body.allowedScopes], [false, ['tables:read']]);
      assert.equal(off.body.token.jti, claimsOf(bound).jti, 'turning it off touches no token');
      const [last] = await gate.bots.listAudit({ botName: 'ingestion-bot', limit: 1 });
      assert.deepEqual([last?.action, last?.detail], ['bot.update', 'requireDpop false']);
      assert.equal((await generate('ingestion-bot', { JWTTokenExpiry: '7' })).status, 200);

      for (const body of [
        { requireDpop: 'true', allowedScopes: [] },
        { requireDpop: null },
        { requireDpop: true, displayName: 'x' },
        {},
      ]) {
        const bad = await patch('ingestion-bot', body);
        assert.equal(bad.status, 400, JSON.stringify(body));
      }
      const shown = await request(app).get('/api/v1/bots/ingestion-bot').set(admin);
      assert.deepEqual(
        [shown.body.requireDpop, shown.body.allowedScopes],
        [false, ['tables:read']],
        'a refused PATCH changes nothing',
      );
      assert.equal((await patch('nobody', { requireDpop: true })).status, 404);
      const notAdmin = await request(app)
        .patch('/api/v1/bots/ingestion-bot')
        .set(bearer(sso.token('jane')))
        .send({ requireDpop: true });
      assert.equal(notAdmin.status, 403);
    });
  });

  it('does not take a requireDpop change for an admin choice of scopes (defaultBotScopes still apply once)', async function () {
    const store = new MemoryStore();
    const first = await startBotApp(sso, { store });
    await first.gate.bots.setRequireDpop('ingestion-bot', true, 'admin');
    await first.gate.close();
    const { gate } = await startBotApp(
      sso,
      { store },
      {
        ...botGateOptions(sso),
        botConfiguration: { defaultBots: ['ingestion-bot'], defaultBotScopes: ['tables:read'] },
      },
    );
    try {
      const bot = await gate.bots.getBot('ingestion-bot');
      assert.deepEqual([bot.requireDpop, bot.allowedScopes], [true, ['tables:read']]);
    } finally {
      await gate.close();
    }
  });
});
