import assert from 'node:assert/strict';
import express, { type Express, type RequestHandler } from 'express';
import { Passport } from 'passport';
import { Strategy as JwtStrategy } from 'passport-jwt';
import request from 'supertest';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import type { BotTokenGuard, BotTokenState } from '../lib/verify/bot-token-guard.js';
import { type JwksServer, startOneKeyJwksServer } from './support/jwks-server.js';
import { rsaPair, signJwt, testKeySet } from './support/tokens.js';

/**
 * `gate.strategies` on an app's own Passport: each strategy runs the gate's verification for its
 * source, with jsonwebtoken checking the signature, and leaves the principal in `req.user`.
 */
const SSO_ISSUER = 'http://sso.test';
const AUDIENCE = 'my-api';

type JwtVerifier = (
  token: string,
  key: unknown,
  options: unknown,
  done: (...args: unknown[]) => void,
) => void;
const jwtStrategy = JwtStrategy as unknown as { JwtVerifier: JwtVerifier };

for (const engine of ['direct', 'passport'] as const) {
  describe(`gate.strategies on an app's own Passport (engine: ${engine})`, function () {
    let sso: JwksServer;
    const ssoKey = rsaPair('strategies-sso');
    let state: BotTokenState = 'valid';
    const bots: BotTokenGuard = { check: () => state, noteUse: () => {} };
    const gates: JwtGate[] = [];
    /** Signatures jsonwebtoken checked (passport-jwt's verifier, counted). */
    let jsonwebtokenChecks = 0;
    const original = jwtStrategy.JwtVerifier;

    before(async function () {
      sso = await startOneKeyJwksServer(ssoKey.publicKey, 'sso-1');
      jwtStrategy.JwtVerifier = (token, key, options, done) => {
        jsonwebtokenChecks++;
        original(token, key, options, done);
      };
    });
    after(async function () {
      jwtStrategy.JwtVerifier = original;
      await sso.close();
    });
    beforeEach(() => {
      state = 'valid';
      jsonwebtokenChecks = 0;
    });
    afterEach(async function () {
      for (const gate of gates.splice(0)) await gate.close();
    });

    /** An app that authenticates with its own Passport and jwt-gate's strategies, not `gate.authenticate`. */
    async function createServer(): Promise<{ app: Express; gate: JwtGate }> {
      const gate = await createJwtGate(
        {
          jwtTokenConfiguration: { jwtissuer: 'open-metadata.org', keyId: 'test-kid' },
          authenticationConfiguration: {
            provider: 'custom-oidc',
            authority: SSO_ISSUER,
            clientId: AUDIENCE,
            publicKeyUrls: [sso.jwksUri],
          },
          verificationConfiguration: { engine },
          database: { url: 'memory:' },
        },
        { keySet: testKeySet(), bots },
      );
      gates.push(gate);
      const passport = new Passport();
      for (const [name, strategy] of gate.strategies) passport.use(name, strategy);
      const app = express();
      // Each strategy on its own: its failure's challenge is the jwt-gate error, with its status.
      const only =
        (name: string): RequestHandler =>
        (req, res, next) => {
          const authenticate = passport.authenticate(
            name,
            { session: false },
            (err: unknown, user: Express.User | false, challenge: unknown, status: number | undefined) => {
              if (err) next(err);
              else if (!user)
                res.status(status ?? 401).json({ refused: (challenge as { code?: string }).code });
              else res.json(user);
            },
          ) as RequestHandler;
          authenticate(req, res, next);
        };
      app.get('/self', only('self'));
      app.get('/sso', only(sso.jwksUri));
      app.use(gate.errorHandler);
      return { app, gate };
    }

    const ssoToken = (): string =>
      signJwt({
        header: { kid: 'sso-1' },
        payload: { iss: SSO_ISSUER, aud: AUDIENCE, sub: 'u-1', email: 'jane@example.com' },
        key: ssoKey.privateKey,
      });

    it('names one strategy per key source', async function () {
      const { gate } = await createServer();
      assert.deepEqual([...gate.strategies.keys()], ['self', sso.jwksUri]);
    });

    it("sets the principal of each source's tokens, jsonwebtoken checking the signature", async function () {
      const { app, gate } = await createServer();
      const { token } = gate.mintToken({
        subject: 'jane',
        isBot: false,
        tokenType: 'OM_USER',
        expiry: '1',
      });
      const own = await request(app).get('/self').set('Authorization', `Bearer ${token}`);
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.equal(own.body.name, 'jane');
      assert.equal(own.body.source, 'self');
      const external = await request(app).get('/sso').set('Authorization', `Bearer ${ssoToken()}`);
      assert.equal(external.status, 200, JSON.stringify(external.body));
      assert.equal(external.body.name, 'jane');
      assert.equal(external.body.source, sso.jwksUri);
      assert.equal(jsonwebtokenChecks, 2);
    });

    it("refuses a token of another source, a forged one and a request without one, with jwt-gate's codes", async function () {
      const { app } = await createServer();
      const other = await request(app).get('/self').set('Authorization', `Bearer ${ssoToken()}`);
      assert.deepEqual([other.status, other.body], [401, { refused: 'ERR_TOKEN_ISSUER_UNKNOWN' }]);
      const forged = ssoToken().slice(0, -4) + 'AAAA';
      const bad = await request(app).get('/sso').set('Authorization', `Bearer ${forged}`);
      assert.deepEqual([bad.status, bad.body], [401, { refused: 'ERR_TOKEN_SIGNATURE_INVALID' }]);
      const none = await request(app).get('/sso');
      assert.deepEqual([none.status, none.body], [401, { refused: 'ERR_TOKEN_MISSING' }]);
      const twice = await request(app)
        .get('/sso?access_token=x')
        .set('Authorization', `Bearer ${ssoToken()}`);
      assert.deepEqual([twice.status, twice.body], [400, { refused: 'ERR_REQUEST_INVALID' }]);
    });

    it(`gate.authenticate checks signatures ${engine === 'passport' ? 'with jsonwebtoken, in the strategy' : 'with node:crypto, not jsonwebtoken'}`, async function () {
      const { gate } = await createServer();
      const app = express();
      app.use(gate.authenticate);
      app.get('/me', (req, res) => {
        res.json(req.user);
      });
      const res = await request(app).get('/me').set('Authorization', `Bearer ${ssoToken()}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.source, sso.jwksUri);
      assert.equal(jsonwebtokenChecks, engine === 'passport' ? 1 : 0);
    });

    it('checks bot-token state: a revoked token fails, an unreadable state is a 503', async function () {
      const { app, gate } = await createServer();
      const { token } = gate.mintToken({
        subject: 'ingestion-bot',
        isBot: true,
        tokenType: 'BOT',
        expiry: 'Unlimited',
      });
      assert.equal((await request(app).get('/self').set('Authorization', `Bearer ${token}`)).status, 200);
      state = 'revoked';
      const revoked = await request(app).get('/self').set('Authorization', `Bearer ${token}`);
      assert.deepEqual([revoked.status, revoked.body], [401, { refused: 'ERR_TOKEN_REVOKED' }]);
      state = 'unavailable';
      const unavailable = await request(app).get('/self').set('Authorization', `Bearer ${token}`);
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.body.errorCode, 'ERR_STORE_UNAVAILABLE');
    });
  });
}
