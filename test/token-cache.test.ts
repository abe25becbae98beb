import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import request from 'supertest';
import type { JwtGateOptions } from '../lib/config/types.js';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { VerifiedFingerprints } from '../lib/verify/verified-fingerprints.js';
import { VerifiedTokenCache } from '../lib/verify/verified-token-cache.js';
import type { KeySource } from '../lib/verify/key-source.js';
import type { Principal } from '../lib/verify/principal.js';
import { type JwksServer, publicJwk, startJwksServer } from './support/jwks-server.js';
import { rsaPair, signJwt, testKeySet } from './support/tokens.js';

const SSO = 'http://sso.test';

/** A gate with an injected clock, its verified-token cache on, and the in-memory bot store. */
async function createServer(jwksUri: string | null, clock: { now: number }, extra: JwtGateOptions = {}) {
  const gate = await createJwtGate(
    {
      jwtTokenConfiguration: { jwtissuer: 'open-metadata.org', keyId: 'test-kid' },
      authenticationConfiguration: {
        provider: 'custom-oidc',
        publicKeyUrls: jwksUri ? [jwksUri] : [],
        authority: SSO,
        clientId: 'app',
      },
      verificationConfiguration: {
        cache: { enabled: true, maxEntries: 100 },
        jwks: { cooldownSeconds: 1, minCacheSeconds: 60, defaultCacheSeconds: 60, maxCacheSeconds: 60 },
      },
      database: { url: 'memory:' },
      botConfiguration: { defaultBots: ['ingestion-bot'] },
      ...extra,
    },
    { keySet: testKeySet(), now: () => clock.now },
  );
  const app = express();
  app.use(gate.authenticate);
  app.get('/api/v1/tables', (req, res) => {
    res.json({ name: req.user!.name });
  });
  app.use(gate.errorHandler);
  return { app, gate };
}

const get = (app: Express, token: string) =>
  request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);

describe('verified-token cache', function () {
  let jwks: JwksServer;
  const k1 = rsaPair('rotate-1');
  const k2 = rsaPair('rotate-2');

  beforeEach(async function () {
    jwks = await startJwksServer({ keys: { keys: [publicJwk(k1.publicKey, { kid: 'k1', alg: 'RS256' })] } });
  });
  afterEach(() => jwks.close());

  const sso = (
    kid: string,
    key = k1.privateKey,
    nowSeconds = Math.floor(Date.now() / 1000),
    payload: Record<string, unknown> = {},
  ) =>
    signJwt({
      header: { kid },
      payload: { iss: SSO, aud: 'app', email: 'ann@example.com', ...payload },
      key,
      nowSeconds,
    });

  /** Same header and claims, signed with another key, ending in the same 16 characters. */
  const forgeLike = (token: string) => {
    const [h, p, signature] = token.split('.') as [string, string, string];
    const other = signJwt({ key: k2.privateKey }).split('.')[2]!;
    return `${h}.${p}.${other.slice(0, -16)}${signature.slice(-16)}`;
  };

  it('never serves a cached token past its exp', async function () {
    const clock = { now: Date.now() };
    const { app } = await createServer(jwks.jwksUri, clock);
    const token = sso('k1', k1.privateKey, Math.floor(clock.now / 1000), {
      exp: Math.floor(clock.now / 1000) + 120,
    });
    for (let use = 0; use < 3; use++) assert.equal((await get(app, token)).status, 200); // the third a hit
    clock.now += 121_000 + 60_000; // past exp and the clock tolerance
    const res = await get(app, token);
    assert.equal(res.status, 401);
    assert.equal(res.body.errorCode, 'ERR_TOKEN_EXPIRED');
  });

  it('never lets another token share an entry: same header, claims and end of signature as a cached one', async function () {
    const clock = { now: Date.now() };
    const { app } = await createServer(jwks.jwksUri, clock);
    const token = sso('k1');
    for (let use = 0; use < 3; use++) assert.equal((await get(app, token)).status, 200);
    // The forged signature ends like the real one, so its fingerprint matches and it is looked up.
    const forged = forgeLike(token);
    assert.equal(forged.length, token.length);
    const res = await get(app, forged);
    assert.equal(res.status, 401);
    assert.equal(res.body.errorCode, 'ERR_TOKEN_SIGNATURE_INVALID');
    assert.equal((await get(app, token)).status, 200);
  });

  it("judges each token on a kept-alive connection on its own: a forged or another user's token never rides on the previous one", async function () {
    const clock = { now: Date.now() };
    const { app } = await createServer(jwks.jwksUri, clock);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports: number[] = [];
    const send = (token: string) =>
      new Promise<{ status: number; body: { name?: string; errorCode?: string } }>((resolve, reject) => {
        const req = http.get(
          {
            agent,
            host: '127.0.0.1',
            port: (server.address() as AddressInfo).port,
            path: '/api/v1/tables',
            headers: { authorization: `Bearer ${token}` },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          },
        );
        req.on('socket', (socket) => ports.push(socket.localPort ?? -1));
        req.on('error', reject);
      });
    try {
      const ann = sso('k1');
      const forged = forgeLike(ann);
      const bob = sso('k1', k1.privateKey, undefined, { email: 'bob@example.com' });
      const answers = [];
      // Ann's token is cached from its second use on; the forged one comes right after a hit.
      for (const token of [ann, ann, ann, forged, ann, bob, ann]) answers.push(await send(token));
      assert.deepEqual(
        answers.map((a) => a.body.name ?? a.body.errorCode),
        ['ann', 'ann', 'ann', 'ERR_TOKEN_SIGNATURE_INVALID', 'ann', 'bob', 'ann'],
      );
      assert.equal(new Set(ports).size, 1, 'all seven requests went over one connection');
    } finally {
      agent.destroy();
      server.close();
    }
  });

  it('follows key rotation at the source: a new kid is picked up, a removed key stops verifying, cached or not', async function () {
    const clock = { now: Date.now() };
    const { app } = await createServer(jwks.jwksUri, clock);
    const old = sso('k1');
    assert.equal((await get(app, old)).status, 200);
    assert.equal((await get(app, old)).status, 200, 'verified again, and cached');

    // The IdP rotates: k2 is published, k1 withdrawn.
    jwks.setKeys({ keys: [publicJwk(k2.publicKey, { kid: 'k2', alg: 'RS256' })] });
    clock.now += 2000; // past the unknown-kid cooldown
    const fresh = sso('k2', k2.privateKey);
    assert.equal((await get(app, fresh)).status, 200, 'the new kid is fetched and accepted');
    const res = await get(app, old);
    assert.equal(res.status, 401, 'the cached verification by the removed key is gone');
    assert.equal(res.body.errorCode, 'ERR_TOKEN_KEY_UNKNOWN');
  });

  it('re-checks the key when the source must refresh it (max-age ran out) and the key was withdrawn', async function () {
    const clock = { now: Date.now() };
    const { app } = await createServer(jwks.jwksUri, clock);
    const token = sso('k1', k1.privateKey, Math.floor(clock.now / 1000), {
      exp: Math.floor(clock.now / 1000) + 3600,
    });
    assert.equal((await get(app, token)).status, 200);
    assert.equal((await get(app, token)).status, 200, 'verified again, and cached');
    jwks.setKeys({ keys: [publicJwk(k2.publicKey, { kid: 'k2', alg: 'RS256' })] });
    const fetches = jwks.fetchCount;
    clock.now += 61_000; // the JWKS's cache lifetime (60 s) is over: the next use re-fetches
    const res = await get(app, token);
    assert.equal(res.status, 401);
    assert.equal(jwks.fetchCount, fetches + 1);
  });

  it('drops a bot token at once when it is revoked or replaced, even right after a cache hit', async function () {
    const clock = { now: Date.now() };
    const { app, gate } = await createServer(null, clock);
    const first = (await gate.bots.generateToken('ingestion-bot', '7', 'admin')).JWTToken;
    // Three uses: verified, verified and stored, served from the cache.
    for (let use = 0; use < 3; use++) assert.equal((await get(app, first)).status, 200);
    const second = (await gate.bots.generateToken('ingestion-bot', '7', 'admin')).JWTToken;
    assert.equal((await get(app, first)).status, 401, 'replaced');
    for (let use = 0; use < 3; use++) assert.equal((await get(app, second)).status, 200);
    await gate.bots.revokeToken('ingestion-bot', 'admin');
    const res = await get(app, second);
    assert.equal(res.status, 401);
    assert.equal(res.body.errorCode, 'ERR_TOKEN_REVOKED');
    await closeGate(gate);
  });

  it('serves a token from the cache from its third use on, and never stores tokens that do not come back', async function () {
    const clock = { now: Date.now() };
    const { gate } = await createServer(jwks.jwksUri, clock);
    const socket = {};
    // Signatures are checked on the thread pool, so a verification answers later; a hit at once.
    const answeredAtOnce = (token: string) =>
      new Promise<boolean>((resolve, reject) => {
        let synchronous = true;
        const req = {
          socket,
          method: 'GET',
          url: '/api/v1/tables',
          originalUrl: '/api/v1/tables',
          headers: { authorization: `Bearer ${token}` },
        };
        gate.authenticate(req as never, {} as never, (err?: unknown) =>
          err ? reject(new Error('refused', { cause: err })) : resolve(synchronous),
        );
        synchronous = false;
      });
    try {
      const ann = sso('k1');
      const uses = [];
      for (let i = 0; i < 4; i++) uses.push(await answeredAtOnce(ann));
      assert.deepEqual(uses, [false, false, true, true], 'verified, verified and stored, then hits');
      for (let i = 0; i < 20; i++) {
        const once = sso('k1', k1.privateKey, undefined, { email: `user-${i}@example.com` });
        assert.equal(await answeredAtOnce(once), false);
      }
      assert.equal(await answeredAtOnce(ann), true, 'tokens seen once evicted nothing');
    } finally {
      await gate.close();
    }
  });

  it('keeps the fingerprints of a working set of maxEntries tokens, and of hot tokens under a stream of one-off ones', function () {
    const tokens = (n: number, tag: string) =>
      Array.from({ length: n }, () => `eyJ.${tag}.${randomBytes(48).toString('base64url')}`);
    const fingerprints = new VerifiedFingerprints(1000);
    const working = tokens(1000, 'w');
    for (const t of working) assert.equal(fingerprints.record(t), false);
    assert.ok(working.filter((t) => fingerprints.seen(t)).length >= 980, 'nearly all of maxEntries kept');
    const hot = tokens(50, 'hot');
    for (const t of hot) fingerprints.record(t);
    for (let round = 0; round < 200; round++) {
      for (const t of tokens(20, 'once')) fingerprints.record(t);
      assert.equal(hot.filter((t) => fingerprints.seen(t)).length, hot.length, `round ${round}`);
    }
    assert.equal(fingerprints.seen(tokens(1, 'never')[0]!), false);
  });

  it('remembers which tokens were verified: looked up after one verification, stored after two', function () {
    const cache = new VerifiedTokenCache(10);
    const [a, b] = [sso('k1'), sso('k1', k1.privateKey, undefined, { email: 'b@example.com' })];
    assert.equal(cache.seen(a), false);
    assert.equal(cache.admit(a), false, 'first verification: remembered, not stored');
    assert.equal(cache.seen(a), true);
    assert.equal(cache.seen(b), false);
    assert.equal(cache.admit(a), true, 'second verification: store it');
  });

  it('is bounded by maxEntries (least recently used out first)', function () {
    const cache = new VerifiedTokenCache(2);
    const key = rsaPair('self').publicKey;
    const source = { name: 'self', getKeySync: () => key } as unknown as KeySource;
    const principal = { expiresAt: null, tokenId: null } as unknown as Principal;
    for (const t of ['a', 'b', 'c'])
      cache.set(VerifiedTokenCache.keyOf(t), principal, source, 'k', 'RS256', key);
    assert.equal(cache.size, 2);
    assert.equal(cache.get(VerifiedTokenCache.keyOf('a'), Date.now()), undefined);
    assert.equal(cache.get(VerifiedTokenCache.keyOf('c'), Date.now()), principal);
  });
});

async function closeGate(gate: JwtGate): Promise<void> {
  await gate.close();
}
