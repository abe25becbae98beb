import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHmac } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import type { JwtGateOptions } from '../lib/config/types.js';
import { createJwtGate, type JwtGate, type JwtGateDependencies } from '../lib/gate.js';
import type { BotTokenGuard, BotTokenState } from '../lib/verify/bot-token-guard.js';
import { type JwksServer, publicJwk, startJwksServer } from './support/jwks-server.js';
import { DEV_SSO_CLIENT_ID, type DevSso, startTestSso } from './support/sso-login.js';
import { rsaPair, signJwt, testKeySet } from './support/tokens.js';

const ISSUER = 'open-metadata.org';
const SSO_AUDIENCE = 'bots-page';

interface TestServer {
  app: Express;
  gate: JwtGate;
}

/** How the suite below verifies a token missing from the cache (each mode is run). */
interface VerifyMode {
  engine: 'direct' | 'passport';
  offloadSignatures: boolean;
}
let mode: VerifyMode = { engine: 'direct', offloadSignatures: true };

/** One app per scenario: the way a user wires jwt-gate into an existing API. */
async function createServer(
  options: JwtGateOptions = {},
  deps: JwtGateDependencies = {},
): Promise<TestServer> {
  const gate = await createJwtGate(
    {
      ...options,
      verificationConfiguration: { ...mode, ...options.verificationConfiguration },
      jwtTokenConfiguration: { jwtissuer: ISSUER, keyId: 'test-kid', ...options.jwtTokenConfiguration },
      authenticationConfiguration: {
        provider: 'custom-oidc',
        publicKeyUrls: [],
        authority: 'http://sso.test',
        clientId: SSO_AUDIENCE,
        ...options.authenticationConfiguration,
      },
      authorizerConfiguration: {
        adminPrincipals: ['admin'],
        principalDomain: 'example.com',
        ...options.authorizerConfiguration,
      },
      database: { url: 'memory:' },
    },
    { keySet: testKeySet(), ...deps },
  );
  const app = express();
  app.use(gate.publicRouter);
  app.use(gate.authenticate);
  app.get('/api/v1/tables', (_req, res) => {
    res.json({ data: [] });
  });
  app.get('/api/v1/users/loggedInUser', (req, res) => {
    res.json(req.user);
  });
  app.post('/api/v1/admin-only', gate.requireAdmin, (_req, res) => {
    res.json({ ok: true });
  });
  app.use(gate.errorHandler);
  return { app, gate };
}

/** Asserts the RFC 6750 answer: status, WWW-Authenticate error, JSON body, and no token echo. */
function assertBearerError(
  res: request.Response,
  status: number,
  error: string | undefined,
  code: string,
  token?: string,
): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  const challenge = String(res.headers['www-authenticate']);
  assert.match(challenge, /^Bearer realm="jwt-gate"/);
  if (error === undefined) assert.doesNotMatch(challenge, /error=/);
  else assert.match(challenge, new RegExp(`error="${error}", error_description="[^"]+"`));
  assert.equal(res.body.code, status);
  assert.equal(res.body.errorCode, code);
  assert.equal(typeof res.body.message, 'string');
  if (token) {
    assert.ok(!res.text.includes(token) && !challenge.includes(token), 'the token must never be echoed');
    assert.ok(!res.text.includes(token.split('.')[2]!), 'no part of the signature echoed');
  }
  assert.doesNotMatch(res.text, /JsonWebTokenError|TokenExpiredError|at .*\.js:\d+/);
}

const MODES: readonly VerifyMode[] = [
  { engine: 'direct', offloadSignatures: true },
  { engine: 'direct', offloadSignatures: false },
  { engine: 'passport', offloadSignatures: false },
];

for (const verifyMode of MODES) {
  const label = `engine: ${verifyMode.engine}${verifyMode.engine === 'direct' ? `, offloadSignatures: ${verifyMode.offloadSignatures}` : ''}`;
  describe(`authentication middleware (${label})`, function () {
    before(() => {
      mode = verifyMode;
    });
    let sso: JwksServer;
    const ssoKey = rsaPair('sso');
    const otherKey = rsaPair('other');

    before(async function () {
      sso = await startJwksServer({
        keys: { keys: [publicJwk(ssoKey.publicKey, { kid: 'sso-1', alg: 'RS256', use: 'sig' })] },
      });
    });
    after(() => sso.close());

    const ssoToken = (
      payload: Record<string, unknown> = {},
      header: Record<string, unknown> = {},
      key = ssoKey.privateKey,
    ) =>
      signJwt({
        header: { kid: 'sso-1', ...header },
        payload: {
          iss: 'http://sso.test',
          aud: SSO_AUDIENCE,
          sub: 'u-1',
          email: 'alice@example.com',
          ...payload,
        },
        key,
      });

    describe('our own tokens', function () {
      it('accepts a token minted by the gate, verified from local keys without any HTTP fetch', async function () {
        const { app, gate } = await createServer({
          authenticationConfiguration: { publicKeyUrls: ['http://localhost:8585/api/v1/config/jwks'] },
        });
        const { token } = gate.mintToken({
          subject: 'jane',
          email: 'jane@open-metadata.org',
          isBot: false,
          tokenType: 'OM_USER',
          expiry: '7',
        });
        const res = await request(app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${token}`);
        assert.equal(res.status, 200);
        assert.equal(res.body.name, 'jane');
        assert.equal(res.body.tokenType, 'OM_USER');
        assert.equal(res.body.source, 'self');
        assert.equal(res.body.isBot, false);
        assert.deepEqual(
          gate.health().sources.map((s) => s.name),
          ['self'],
          'the self URL is not a remote source',
        );
      });

      it('sets req.user as an ordinary own property, and leaves no scratch symbol on the request', async function () {
        const { gate } = await createServer();
        const app = express();
        app.use(gate.authenticate);
        const seen: { user?: PropertyDescriptor; symbols: string[]; deletable: boolean }[] = [];
        app.get('/api/v1/tables', (req, res) => {
          seen.push({
            user: Object.getOwnPropertyDescriptor(req, 'user'),
            symbols: Object.getOwnPropertySymbols(req).map(String),
            deletable: delete req.user && req.user === undefined,
          });
          res.json({});
        });
        const { token } = gate.mintToken({
          subject: 'jane',
          isBot: false,
          tokenType: 'OM_USER',
          expiry: '7',
        });
        const res = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
        assert.equal(res.status, 200);
        assert.equal(seen.length, 1);
        const { user, symbols, deletable } = seen[0]!;
        assert.equal((user?.value as { name?: string } | undefined)?.name, 'jane');
        assert.deepEqual(
          { writable: user?.writable, enumerable: user?.enumerable, configurable: user?.configurable },
          { writable: true, enumerable: true, configurable: true },
          'as `req.user = principal` makes it',
        );
        assert.ok(deletable, 'delete req.user removes it');
        assert.ok(
          !symbols.some((s) => s.includes('reshape')),
          `no scratch symbol left: ${symbols.join(', ')}`,
        );
      });

      it("keeps the app's request context (AsyncLocalStorage) through verification", async function () {
        const { gate } = await createServer();
        const context = new AsyncLocalStorage<{ requestId: string }>();
        const app = express();
        app.use((req, _res, next) => context.run({ requestId: req.get('x-request-id') ?? '' }, next));
        app.use(gate.authenticate);
        app.get('/api/v1/tables', (req, res) => {
          res.json({ requestId: context.getStore()?.requestId, name: req.user!.name });
        });
        app.use(gate.errorHandler);
        const tokens = ['ann', 'bob', 'cid'].map(
          (subject) => gate.mintToken({ subject, isBot: false, tokenType: 'OM_USER', expiry: '1' }).token,
        );
        const answers = await Promise.all(
          tokens.map((token, i) =>
            request(app)
              .get('/api/v1/tables')
              .set('Authorization', `Bearer ${token}`)
              .set('X-Request-Id', `req-${i}`),
          ),
        );
        assert.deepEqual(
          answers.map((res) => res.body),
          [
            { requestId: 'req-0', name: 'ann' },
            { requestId: 'req-1', name: 'bob' },
            { requestId: 'req-2', name: 'cid' },
          ],
        );
      });

      it('accepts a current bot token and refuses it once the guard says revoked', async function () {
        let state: BotTokenState = 'valid';
        const bots: BotTokenGuard = { check: () => state, noteUse: () => {} };
        const { app, gate } = await createServer({}, { bots });
        const { token } = gate.mintToken({
          subject: 'ingestion-bot',
          email: 'ingestion-bot@open-metadata.org',
          isBot: true,
          tokenType: 'BOT',
          expiry: 'Unlimited',
        });
        const ok = await request(app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${token}`);
        assert.equal(ok.status, 200);
        assert.equal(ok.body.isBot, true);
        assert.equal(ok.body.tokenType, 'BOT');
        assert.equal(ok.body.expiresAt, null);
        state = 'revoked';
        assertBearerError(
          await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`),
          401,
          'invalid_token',
          'ERR_TOKEN_REVOKED',
          token,
        );
        state = 'unavailable';
        const down = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
        assert.equal(down.status, 503);
        assert.equal(down.body.errorCode, 'ERR_STORE_UNAVAILABLE');
        assert.ok(Number(down.headers['retry-after']) >= 1);
      });

      it('fails closed with 503, never a crash, when the bot guard throws or its refresh rejects', async function () {
        let mode: 'throws' | 'refresh rejects' = 'throws';
        const bots: BotTokenGuard = {
          check: () => {
            if (mode === 'throws') throw new Error('registry exploded');
            return 'unknown';
          },
          refresh: () => Promise.reject(new Error('store gone')),
          noteUse: () => {},
        };
        const { app, gate } = await createServer({}, { bots });
        const { token } = gate.mintToken({
          subject: 'ingestion-bot',
          isBot: true,
          tokenType: 'BOT',
          expiry: '1',
        });
        for (const next of ['throws', 'refresh rejects'] as const) {
          mode = next;
          const res = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
          assert.equal(res.status, 503, next);
          assert.equal(res.body.errorCode, 'ERR_STORE_UNAVAILABLE', next);
          assert.doesNotMatch(res.text, /exploded|store gone/);
        }
      });

      it('never makes a bot an admin unless the bot is listed, and never lets a bot pass requireAdmin', async function () {
        const bots: BotTokenGuard = { check: () => 'valid', noteUse: () => {} };
        const { app, gate } = await createServer(
          { authorizerConfiguration: { adminPrincipals: ['admin', 'ops-bot'] } },
          { bots },
        );
        const bot = gate.mintToken({
          subject: 'ops-bot',
          email: 'ops-bot@x.org',
          isBot: true,
          tokenType: 'BOT',
          expiry: '1',
        }).token;
        const me = await request(app).get('/api/v1/users/loggedInUser').set('Authorization', `Bearer ${bot}`);
        assert.equal(me.body.isAdmin, true);
        assertBearerError(
          await request(app).post('/api/v1/admin-only').set('Authorization', `Bearer ${bot}`),
          403,
          'insufficient_scope',
          'ERR_FORBIDDEN',
        );
      });

      it('refuses a token signed by a foreign key that claims our issuer', async function () {
        const { app } = await createServer();
        const forged = signJwt({
          header: { kid: 'test-kid' },
          payload: { iss: ISSUER, aud: 'jwt-gate', sub: 'admin', email: 'admin@x.org', isBot: false },
          key: otherKey.privateKey,
        });
        assertBearerError(
          await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${forged}`),
          401,
          'invalid_token',
          'ERR_TOKEN_SIGNATURE_INVALID',
          forged,
        );
      });
    });

    describe('SSO tokens from a remote JWKS', function () {
      let server: TestServer;
      before(async function () {
        server = await createServer({ authenticationConfiguration: { publicKeyUrls: [sso.jwksUri] } });
      });

      it('accepts a token of the configured authority and audience, principal from the email claim', async function () {
        const res = await request(server.app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${ssoToken()}`);
        assert.equal(res.status, 200);
        assert.deepEqual(
          {
            name: res.body.name,
            email: res.body.email,
            isBot: res.body.isBot,
            isAdmin: res.body.isAdmin,
            tokenType: res.body.tokenType,
            issuer: res.body.issuer,
            subject: res.body.subject,
            source: res.body.source,
          },
          {
            name: 'alice',
            email: 'alice@example.com',
            isBot: false,
            isAdmin: false,
            tokenType: null,
            issuer: 'http://sso.test',
            subject: 'u-1',
            source: sso.jwksUri,
          },
        );
      });

      it('ignores isBot/tokenType claims in external tokens', async function () {
        const res = await request(server.app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${ssoToken({ isBot: true, tokenType: 'BOT' })}`);
        assert.equal(res.status, 200);
        assert.equal(res.body.isBot, false);
        assert.equal(res.body.tokenType, null);
      });

      it('refuses another audience, an unknown issuer, expiry, not-before and a missing exp', async function () {
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ aud: 'another-client' }, 'ERR_TOKEN_AUDIENCE_INVALID'],
          [{ iss: 'https://evil.example' }, 'ERR_TOKEN_ISSUER_UNKNOWN'],
          [{ exp: Math.floor(Date.now() / 1000) - 3600 }, 'ERR_TOKEN_EXPIRED'],
          [{ nbf: Math.floor(Date.now() / 1000) + 3600 }, 'ERR_TOKEN_NOT_YET_VALID'],
          [{ exp: undefined }, 'ERR_TOKEN_CLAIM_INVALID'],
          [{ exp: '9999999999' }, 'ERR_TOKEN_CLAIM_INVALID'],
        ];
        for (const [payload, code] of cases) {
          const token = ssoToken(payload);
          const res = await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
          assertBearerError(res, 401, 'invalid_token', code, token);
        }
      });

      it('verifies a token only with the keys of the source its iss names (no cross-source kid lookup)', async function () {
        // Signed with our own key and kid but claiming the SSO issuer: the SSO's JWKS has no such key.
        const token = signJwt({
          header: { kid: 'test-kid' },
          payload: { iss: 'http://sso.test', aud: SSO_AUDIENCE, sub: 'x', email: 'admin@example.com' },
          key: rsaPair('self').privateKey,
        });
        const res = await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
        assertBearerError(res, 401, 'invalid_token', 'ERR_TOKEN_KEY_UNKNOWN', token);
        assert.ok(!res.text.includes('127.0.0.1'), 'no internal URL in the body');
        assert.ok(!String(res.headers['www-authenticate']).includes('127.0.0.1'), 'nor in the challenge');
      });

      it('refuses alg tricks: none, HS256 keyed with the public key, an algorithm outside the allowlist', async function () {
        const none = signJwt({
          header: { alg: 'none', kid: 'sso-1' },
          payload: { iss: 'http://sso.test', aud: SSO_AUDIENCE, email: 'a@b.c' },
          signAlg: 'none',
        });
        assertBearerError(
          await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${none}`),
          401,
          'invalid_token',
          'ERR_TOKEN_MALFORMED',
        );

        const pem = ssoKey.publicKey.export({ type: 'spki', format: 'pem' });
        const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'sso-1' })).toString(
          'base64url',
        );
        const body = Buffer.from(
          JSON.stringify({
            iss: 'http://sso.test',
            aud: SSO_AUDIENCE,
            email: 'admin@example.com',
            exp: Math.floor(Date.now() / 1000) + 60,
          }),
        ).toString('base64url');
        const hs = `${head}.${body}.${createHmac('sha256', pem).update(`${head}.${body}`).digest('base64url')}`;
        const res = await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${hs}`);
        assert.equal(res.status, 401);
        assert.match(res.body.errorCode, /ERR_TOKEN_(ALG_NOT_ALLOWED|MALFORMED)/);

        const rs384 = ssoToken({}, { alg: 'RS384' });
        assertBearerError(
          await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${rs384}`),
          401,
          'invalid_token',
          'ERR_TOKEN_ALG_NOT_ALLOWED',
          rs384,
        );
      });

      it('refuses tokens that bring their own key or key URL (jku, x5u, jwk, x5c) and crit', async function () {
        const jwk = publicJwk(otherKey.publicKey, { kid: 'sso-1' });
        for (const header of [
          { jku: 'http://127.0.0.1:1/jwks' },
          { x5u: 'http://127.0.0.1:1/cert' },
          { jwk },
          { x5c: ['MIIB'] },
          { crit: ['exp'] },
        ]) {
          const token = ssoToken({}, header, otherKey.privateKey);
          const res = await request(server.app).get('/api/v1/tables').set('Authorization', `Bearer ${token}`);
          assertBearerError(res, 401, 'invalid_token', 'ERR_TOKEN_HEADER_NOT_ALLOWED', token);
        }
      });

      it('answers 503 with Retry-After when the JWKS is down and the kid is not cached', async function () {
        const down = await startJwksServer({ behaviour: { type: 'status', status: 500 } });
        try {
          const { app } = await createServer({
            authenticationConfiguration: { publicKeyUrls: [down.jwksUri] },
          });
          const res = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${ssoToken()}`);
          assert.equal(res.status, 503);
          assert.equal(res.body.errorCode, 'ERR_KEYS_UNAVAILABLE');
          assert.doesNotMatch(res.body.message, /127\.0\.0\.1|answered 500/, 'no internal detail');
          assert.ok(Number(res.headers['retry-after']) >= 1);
        } finally {
          await down.close();
        }
      });
    });

    describe('Google tokens', function () {
      it('binds Google keys to Google issuers and the clientId audience', async function () {
        const google = await startJwksServer({
          keys: { keys: [publicJwk(ssoKey.publicKey, { kid: 'g1', alg: 'RS256' })] },
        });
        try {
          const { app } = await createServer({
            authenticationConfiguration: {
              provider: 'google',
              publicKeyUrls: [google.jwksUri],
              authority: 'https://accounts.google.com',
            },
          });
          for (const iss of ['https://accounts.google.com', 'accounts.google.com']) {
            const token = signJwt({
              header: { kid: 'g1' },
              payload: { iss, aud: SSO_AUDIENCE, email: 'bob@example.com', email_verified: true },
              key: ssoKey.privateKey,
            });
            const res = await request(app)
              .get('/api/v1/users/loggedInUser')
              .set('Authorization', `Bearer ${token}`);
            assert.equal(res.status, 200);
            assert.equal(res.body.name, 'bob');
          }
          const otherClient = signJwt({
            header: { kid: 'g1' },
            payload: {
              iss: 'https://accounts.google.com',
              aud: 'someone-elses-app',
              email: 'bob@example.com',
            },
            key: ssoKey.privateKey,
          });
          assertBearerError(
            await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${otherClient}`),
            401,
            'invalid_token',
            'ERR_TOKEN_AUDIENCE_INVALID',
          );
        } finally {
          await google.close();
        }
      });
    });

    describe('principal', function () {
      async function principalOf(
        options: JwtGateOptions,
        payload: Record<string, unknown>,
      ): Promise<request.Response> {
        const { app } = await createServer({
          ...options,
          authenticationConfiguration: {
            publicKeyUrls: [sso.jwksUri],
            ...options.authenticationConfiguration,
          },
        });
        return request(app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${ssoToken(payload)}`);
      }

      it('takes the first present claim of jwtPrincipalClaims, before the @, lower-cased', async function () {
        assert.equal((await principalOf({}, { email: 'Admin@Example.com' })).body.name, 'admin');
        assert.equal(
          (await principalOf({}, { email: undefined, preferred_username: 'Carol' })).body.name,
          'carol',
        );
        assert.equal((await principalOf({}, { email: undefined })).body.name, 'u-1');
        const order = await principalOf(
          { authenticationConfiguration: { jwtPrincipalClaims: ['sub', 'email'] } },
          {},
        );
        assert.equal(order.body.name, 'u-1');
        assert.equal((await principalOf({}, { email: 'ADMIN@example.com' })).body.isAdmin, true);
      });

      it('makes an SSO user an admin only with a verified email of principalDomain, or a listed full email', async function () {
        const admin = async (payload: Record<string, unknown>, adminPrincipals = ['admin']) =>
          (await principalOf({ authorizerConfiguration: { adminPrincipals } }, payload)).body.isAdmin;
        assert.equal(await admin({ email: 'admin@example.com' }), true);
        assert.equal(await admin({ email: 'admin@evil.example' }), false, 'another domain');
        assert.equal(await admin({ email: 'admin' }), undefined, 'no domain at all: a 401, no principal');
        assert.equal(
          await admin({ email: undefined, preferred_username: 'admin' }),
          false,
          'a chosen username',
        );
        assert.equal(await admin({ email: undefined, sub: 'admin' }), false, 'a chosen subject');
        assert.equal(
          await admin({ email: 'jane@partner.org' }, ['jane@partner.org']),
          true,
          'a listed full email',
        );
        assert.equal(await admin({ email: 'jane@partner.org' }, ['jane']), false);
      });

      it('does no Unicode case folding: a Kelvin-sign name never becomes an admin', async function () {
        const res = await principalOf(
          { authorizerConfiguration: { adminPrincipals: ['kim'] } },
          { email: '\u212Aim@example.com' },
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.isAdmin, false);
        assert.notEqual(res.body.name, 'kim');
        const mixed = await principalOf(
          { authorizerConfiguration: { adminPrincipals: ['kim'] } },
          { email: '\u212AIM@example.com' },
        );
        assert.equal(mixed.body.name, '\u212Aim', 'only A-Z are lower-cased');
        assert.equal(mixed.body.isAdmin, false);
      });

      it('uses jwtPrincipalClaimsMapping when set', async function () {
        const res = await principalOf(
          {
            authenticationConfiguration: {
              jwtPrincipalClaimsMapping: ['username:preferred_username', 'email:upn'],
            },
          },
          { preferred_username: 'Dave', upn: 'dave@corp.example', email: 'other@example.com' },
        );
        assert.equal(res.body.name, 'dave');
        assert.equal(res.body.email, 'dave@corp.example');
      });

      it('refuses an email the IdP marks unverified when the name would come from it', async function () {
        const res = await principalOf({}, { email: 'admin@example.com', email_verified: false });
        assert.equal(res.status, 401);
        assert.equal(res.body.errorCode, 'ERR_PRINCIPAL_INVALID');
      });

      it('enforces the principal domain for external users', async function () {
        const options = {
          authorizerConfiguration: { principalDomain: 'example.com', enforcePrincipalDomain: true },
        };
        assert.equal((await principalOf(options, { email: 'alice@example.com' })).status, 200);
        const res = await principalOf(options, { email: 'mallory@evil.example' });
        assertBearerError(res, 403, 'insufficient_scope', 'ERR_FORBIDDEN');
      });

      it('keeps the verified claims as a plain object', async function () {
        const res = await principalOf({}, { groups: ['a'] });
        assert.deepEqual(res.body.claims.groups, ['a']);
        assert.equal(res.body.claims.iss, 'http://sso.test');
      });
    });

    describe('request errors (RFC 6750)', function () {
      let app: Express;
      before(async function () {
        ({ app } = await createServer({ authenticationConfiguration: { publicKeyUrls: [sso.jwksUri] } }));
      });

      it('no credentials: 401 with a bare Bearer challenge', async function () {
        assertBearerError(await request(app).get('/api/v1/tables'), 401, undefined, 'ERR_TOKEN_MISSING');
        assertBearerError(
          await request(app).get('/api/v1/tables').set('Authorization', 'Basic dXNlcjpwdw=='),
          401,
          undefined,
          'ERR_TOKEN_MISSING',
        );
      });

      it('no credentials on a request object nothing may be added to: still a 401, not a TypeError', async function () {
        const { gate } = await createServer();
        const req = Object.preventExtensions({
          method: 'GET',
          url: '/api/v1/tables',
          originalUrl: '/api/v1/tables',
          headers: {},
          rawHeaders: [],
        });
        const err = await new Promise<unknown>((resolve) => {
          gate.authenticate(req as unknown as express.Request, {} as express.Response, resolve);
        });
        assert.equal((err as { code?: string }).code, 'ERR_TOKEN_MISSING');
      });

      it('malformed requests: 400 invalid_request', async function () {
        const token = ssoToken();
        assertBearerError(
          await request(app).get('/api/v1/tables').set('Authorization', 'Bearer '),
          400,
          'invalid_request',
          'ERR_REQUEST_INVALID',
        );
        assertBearerError(
          await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${token} extra`),
          400,
          'invalid_request',
          'ERR_REQUEST_INVALID',
          token,
        );
        assertBearerError(
          await request(app)
            .get(`/api/v1/tables?access_token=${token}`)
            .set('Authorization', `Bearer ${token}`),
          400,
          'invalid_request',
          'ERR_REQUEST_INVALID',
          token,
        );
      });

      it('two Authorization headers: 400', async function () {
        const address = await new Promise<string>((resolve) => {
          const server = app.listen(0, '127.0.0.1', () => {
            const port = (server.address() as { port: number }).port;
            resolve(`${port}`);
            after(() => server.close());
          });
        });
        const { request: httpRequest } = await import('node:http');
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: Number(address),
              path: '/api/v1/tables',
              headers: [
                ['Authorization', `Bearer ${ssoToken()}`],
                ['Authorization', `Bearer ${ssoToken()}`],
              ] as unknown as Record<string, string>,
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 400);
      });

      it('garbage tokens: 401 invalid_token, never 500', async function () {
        for (const junk of [
          'abc',
          'a.b.c',
          'eyJhbGciOiJSUzI1NiJ9.e30.',
          `${'a'.repeat(9000)}.b.c`,
          'e30.e30.e30',
        ]) {
          const res = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${junk}`);
          assert.equal(res.status, 401, junk.slice(0, 20));
          assert.equal(res.body.code, 401);
        }
      });

      it('a non-admin on an admin route: 403 insufficient_scope', async function () {
        assertBearerError(
          await request(app).post('/api/v1/admin-only').set('Authorization', `Bearer ${ssoToken()}`),
          403,
          'insufficient_scope',
          'ERR_FORBIDDEN',
        );
      });
    });

    describe('public routes', function () {
      it('serve the JWKS, auth config and health without a token; path tricks still need one', async function () {
        const { app } = await createServer();
        for (const path of [
          '/api/v1/config/jwks',
          '/api/v1/system/config/jwks',
          '/api/v1/system/config/auth',
          '/api/v1/system/health',
        ]) {
          assert.equal((await request(app).get(path)).status, 200, path);
        }
        app.get('/api/v1/config/jwks/extra', (_req, res) => {
          res.json({ leaked: true });
        });
        for (const path of [
          '/api/v1;x/config/jwks',
          '/api/v1/config/jwks/extra',
          '/api/v1/config/jwks/..',
          '/api/v1/config%2fjwks',
          '/api/v1/tables?x=/api/v1/config/jwks',
          '/api/v1/config/jwks/../../tables',
        ]) {
          const res = await request(app).get(path);
          assert.ok(res.status === 401 || res.status === 404, `${path} answered ${res.status}`);
          assert.ok(!res.text.includes('leaked') && !res.text.includes('"data"'), path);
        }
      });

      it('are answered by jwt-gate itself: an app route at a public path is never reached without a token', async function () {
        const { gate } = await createServer();
        const app = express();
        app.use('/elsewhere', gate.publicRouter); // mounted somewhere else, or forgotten
        app.use(gate.authenticate);
        app.get('/api/v1/system/:thing', (req, res) => {
          res.json({ reached: true, user: req.user ?? null });
        });
        app.use(gate.errorHandler);
        const health = await request(app).get('/api/v1/system/health');
        assert.equal(health.status, 200);
        assert.equal(health.body.reached, undefined);
        assert.deepEqual(health.body, { status: 'ok' }, 'status only without an admin token');
        assert.equal((await request(app).get('/api/v1/system/other')).status, 401);
      });

      it('work per router too (router.use(gate.authenticate))', async function () {
        const gate = (await createServer()).gate;
        const app = express();
        const api = express.Router();
        api.use(gate.authenticate);
        api.get('/tables', (_req, res) => {
          res.json({ data: [] });
        });
        app.use('/api/v1', api);
        app.get('/open', (_req, res) => {
          res.send('open');
        });
        app.use(gate.errorHandler);
        assert.equal((await request(app).get('/open')).status, 200);
        assert.equal((await request(app).get('/api/v1/tables')).status, 401);
      });
    });

    describe('no-auth provider', function () {
      it('lets requests in as a non-admin anonymous in development and refuses to start in production', async function () {
        const { app } = await createServer({ authenticationConfiguration: { provider: 'no-auth' } });
        const res = await request(app).get('/api/v1/users/loggedInUser');
        assert.equal(res.status, 200);
        assert.equal(res.body.name, 'anonymous');
        assert.equal(res.body.isAdmin, false, 'never an admin: nobody mints bot tokens without signing in');
        assert.equal((await request(app).post('/api/v1/admin-only')).status, 403);
        const previous = process.env.NODE_ENV;
        process.env.NODE_ENV = 'production';
        try {
          await assert.rejects(
            createServer({ authenticationConfiguration: { provider: 'no-auth' } }),
            /no-auth.*production/s,
          );
        } finally {
          if (previous === undefined) delete process.env.NODE_ENV;
          else process.env.NODE_ENV = previous;
        }
      });
    });

    describe('a real OpenID provider', function () {
      let idp: DevSso;
      before(async function () {
        idp = await startTestSso();
      });
      after(() => idp.close());

      it('accepts ID tokens from a real login, and knows the admin', async function () {
        const { app } = await createServer({
          authenticationConfiguration: {
            publicKeyUrls: [idp.jwksUri],
            authority: idp.issuer,
            clientId: DEV_SSO_CLIENT_ID,
          },
          authorizerConfiguration: { adminPrincipals: ['admin'] },
        });
        const admin = await idp.login('admin', 'admin');
        const me = await request(app)
          .get('/api/v1/users/loggedInUser')
          .set('Authorization', `Bearer ${admin.idToken}`);
        assert.equal(me.status, 200);
        assert.equal(me.body.name, 'admin');
        assert.equal(me.body.isAdmin, true);
        assert.equal(me.body.issuer, idp.issuer);
        const alice = await idp.login('alice', 'alice');
        const denied = await request(app)
          .post('/api/v1/admin-only')
          .set('Authorization', `Bearer ${alice.idToken}`);
        assert.equal(denied.status, 403);
      });
    });
  });
}
