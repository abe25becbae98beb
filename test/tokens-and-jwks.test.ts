import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { createJwksRouter } from '../lib/http/routes/jwks-router.js';
import { createAuthConfigRouter } from '../lib/http/routes/auth-config-router.js';
import { createErrorHandler } from '../lib/http/middleware/error-handler.js';
import type { KeySet, PublishedKey } from '../lib/keys/key-set.js';
import { EXPIRY_CHOICES, parseExpiry } from '../lib/tokens/expiry.js';
import { mintToken, type MintClaims } from '../lib/tokens/mint-token.js';
import { rsaPair, testKeySet } from './support/tokens.js';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const botClaims = (expiry: MintClaims['expiry'] = '7'): MintClaims => ({
  subject: 'ingestion-bot',
  email: 'ingestion-bot@open-metadata.org',
  isBot: true,
  tokenType: 'BOT',
  expiry,
});

function jwksApp(keySet: KeySet) {
  const app = express();
  app.use(createJwksRouter(keySet));
  app.use(
    createAuthConfigRouter({
      provider: 'custom-oidc',
      providerName: 'sso',
      publicKeyUrls: ['https://sso.example/jwks'],
      authority: 'https://sso.example',
      clientId: 'client',
      callbackUrl: 'https://app.example/callback',
      jwtPrincipalClaims: ['email'],
      jwtPrincipalClaimsMapping: [],
      defaultScopes: [],
      scopeClaim: '',
    }),
  );
  app.use(createErrorHandler());
  return app;
}

describe('token minting', function () {
  const keySet = testKeySet('Gb389a-9f76-gdjs-a92j-0242bk94356');
  const issuer = { issuer: 'open-metadata.org', audience: 'jwt-gate', key: keySet.signing };

  it('signs RS256 with kid and typ, and the reference claims plus jti and aud', function () {
    const minted = mintToken(issuer, botClaims('7'), NOW);
    const [head, body] = minted.token
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.deepEqual(head, { alg: 'RS256', typ: 'JWT', kid: 'Gb389a-9f76-gdjs-a92j-0242bk94356' });
    assert.equal(body.iss, 'open-metadata.org');
    assert.equal(body.sub, 'ingestion-bot');
    assert.equal(body.aud, 'jwt-gate');
    assert.equal(body.email, 'ingestion-bot@open-metadata.org');
    assert.equal(body.isBot, true);
    assert.equal(body.tokenType, 'BOT');
    assert.equal(body.preferred_username, 'ingestion-bot');
    assert.equal(body.iat, NOW / 1000);
    assert.equal(body.exp, NOW / 1000 + 7 * 86400);
    assert.match(body.jti, /^[0-9a-f-]{36}$/);
    assert.deepEqual(minted.response, {
      JWTToken: minted.token,
      JWTTokenExpiry: '7',
      JWTTokenExpiresAt: (NOW / 1000 + 7 * 86400) * 1000,
    });
  });

  it('computes every expiry choice in UTC epoch seconds; Unlimited has no exp and a null expiresAt', function () {
    const seconds: Record<string, number | null> = {
      OneHour: 3600,
      '1': 86400,
      '7': 604800,
      '30': 2592000,
      '60': 5184000,
      '90': 7776000,
      Unlimited: null,
    };
    assert.deepEqual([...EXPIRY_CHOICES].sort(), Object.keys(seconds).sort());
    for (const choice of EXPIRY_CHOICES) {
      const minted = mintToken(issuer, botClaims(choice), NOW);
      const lifetime = seconds[choice]!;
      assert.equal(minted.claims.exp, lifetime === null ? undefined : NOW / 1000 + lifetime, choice);
      assert.equal(
        minted.response.JWTTokenExpiresAt,
        lifetime === null ? null : NOW + lifetime * 1000,
        choice,
      );
    }
  });

  it('gives every token a unique jti', function () {
    const jtis = new Set(Array.from({ length: 50 }, () => mintToken(issuer, botClaims(), NOW).jti));
    assert.equal(jtis.size, 50);
  });

  it('refuses an unknown expiry choice with a 400-class error listing the choices', function () {
    for (const bad of ['2', 'onehour', '', null, 7.5, '7 ', 'Infinity', '__proto__']) {
      assert.throws(
        () => parseExpiry(bad),
        (err: { status?: number; code?: string; message?: string }) => {
          assert.equal(err.status, 400);
          assert.equal(err.code, 'ERR_EXPIRY_INVALID');
          assert.match(err.message!, /"OneHour", "1", "7", "30", "60", "90", "Unlimited"/);
          return true;
        },
      );
    }
    assert.equal(parseExpiry(7), '7');
  });

  it('signs with RS384 / RS512 when configured, and the header says so', function () {
    for (const alg of ['RS384', 'RS512'] as const) {
      const key = { ...keySet.signing, alg };
      const { token } = mintToken({ ...issuer, key }, botClaims(), NOW);
      assert.equal(decodeProtectedHeader(token).alg, alg);
    }
  });
});

describe('JWKS router', function () {
  const previous: PublishedKey = { kid: 'previous', alg: 'RS256', publicKey: rsaPair('previous').publicKey };
  const base = testKeySet('active');
  const keySet: KeySet = {
    ...base,
    published: [...base.published, previous],
    byKid: new Map([...base.byKid, ['previous', previous]]),
  };
  const app = jwksApp(keySet);

  it('serves every published key at both paths with only public members, minimal base64url n/e', async function () {
    for (const path of ['/api/v1/config/jwks', '/api/v1/system/config/jwks']) {
      const res = await request(app).get(path);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.match(String(res.headers['cache-control']), /^public, max-age=\d+$/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', 'helmet headers');
      assert.deepEqual(
        res.body.keys.map((k: { kid: string }) => k.kid),
        ['active', 'previous'],
      );
      for (const key of res.body.keys) {
        assert.deepEqual(Object.keys(key), ['kty', 'kid', 'use', 'alg', 'n', 'e']);
        assert.equal(key.use, 'sig');
        assert.equal(key.alg, 'RS256');
        assert.equal(key.e, 'AQAB');
        assert.match(key.n, /^[A-Za-z0-9_-]+$/);
        assert.notEqual(Buffer.from(key.n, 'base64url')[0], 0, 'no leading zero byte');
        assert.equal(Buffer.from(key.n, 'base64url').length, 256);
      }
      assert.doesNotMatch(res.text, /"(d|p|q|dp|dq|qi)"/);
    }
  });

  it('answers 405 with Allow for other methods, and 304 for a matching ETag', async function () {
    const post = await request(app).post('/api/v1/config/jwks');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const first = await request(app).get('/api/v1/config/jwks');
    const again = await request(app)
      .get('/api/v1/config/jwks')
      .set('If-None-Match', String(first.headers.etag));
    assert.equal(again.status, 304);
  });

  it('publishes the public auth config and nothing else', async function () {
    const res = await request(app).get('/api/v1/system/config/auth');
    assert.deepEqual(res.body, {
      provider: 'custom-oidc',
      providerName: 'sso',
      authority: 'https://sso.example',
      clientId: 'client',
      callbackUrl: 'https://app.example/callback',
      jwtPrincipalClaims: ['email'],
    });
  });

  it('lets an independent implementation (jose) verify our tokens over HTTP; a one-byte change fails', async function () {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/config/jwks`;
      const jwks = (await (await fetch(url)).json()) as Parameters<typeof createLocalJWKSet>[0];
      const local = createLocalJWKSet(jwks);
      const remote = createRemoteJWKSet(new URL(url));
      const { token } = mintToken(
        { issuer: 'open-metadata.org', audience: 'jwt-gate', key: keySet.signing },
        botClaims('OneHour'),
      );
      for (const keys of [local, remote]) {
        const { payload } = await jwtVerify(token, keys, {
          issuer: 'open-metadata.org',
          audience: 'jwt-gate',
          algorithms: ['RS256'],
        });
        assert.equal(payload.sub, 'ingestion-bot');
      }
      const [h, p, s] = token.split('.') as [string, string, string];
      const flipped = (text: string, at: number) =>
        text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
      for (const tampered of [`${h}.${flipped(p, 10)}.${s}`, `${h}.${p}.${flipped(s, 5)}`]) {
        await assert.rejects(
          jwtVerify(tampered, local, { issuer: 'open-metadata.org', audience: 'jwt-gate' }),
          /signature verification failed|Invalid|JWS/,
        );
      }
    } finally {
      server.close();
    }
  });
});
