import assert from 'node:assert/strict';
import express, { type Express } from 'express';
import request from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import type { JwtGateOptions } from '../lib/config/types.js';
import { ConfigError } from '../lib/errors.js';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { requireAnyScope, requireScopes } from '../lib/index.js';
import type { Principal } from '../lib/verify/principal.js';
import { type JwksServer, startOneKeyJwksServer } from './support/jwks-server.js';
import { rsaPair, signJwt, testKeySet } from './support/tokens.js';

/**
 * Scopes (RFC 6750 §3.1, RFC 9068 §2.2.3): what an SSO token's `scope` / `scp` claim grants, a
 * source's `defaultScopes` for tokens without one, and the `requireScopes` / `requireAnyScope`
 * guards — with both verification engines.
 */

const SSO_ISSUER = 'http://sso.test';
const PARTNER_ISSUER = 'http://partner.test';
const AUDIENCE = 'tables-api';
const ENGINES = ['direct', 'passport'] as const;

interface TestServer {
  app: Express;
  gate: JwtGate;
  /** Every `req.user` the `/me` route saw, in order. */
  seen: Principal[];
}

describe('scopes', function () {
  let sso: JwksServer;
  let partner: JwksServer;
  const ssoKey = rsaPair('scopes-sso');
  const partnerKey = rsaPair('scopes-partner');

  before(async function () {
    sso = await startOneKeyJwksServer(ssoKey.publicKey, 'sso-1');
    partner = await startOneKeyJwksServer(partnerKey.publicKey, 'p-1');
  });
  after(async () => {
    await sso.close();
    await partner.close();
  });

  const gates: JwtGate[] = [];
  afterEach(async () => {
    for (const gate of gates.splice(0)) await gate.close();
  });

  /** An API protected the way the README shows: scopes per route. */
  async function createServer(
    engine: (typeof ENGINES)[number],
    auth: JwtGateOptions['authenticationConfiguration'] = {},
  ): Promise<TestServer> {
    const gate = await createJwtGate(
      {
        verificationConfiguration: { engine },
        jwtTokenConfiguration: { jwtissuer: 'open-metadata.org', keyId: 'test-kid' },
        authenticationConfiguration: {
          provider: 'custom-oidc',
          authority: SSO_ISSUER,
          clientId: AUDIENCE,
          publicKeyUrls: [
            sso.jwksUri,
            {
              url: partner.jwksUri,
              issuer: PARTNER_ISSUER,
              audience: AUDIENCE,
              scopeClaim: 'scp',
              defaultScopes: ['partner:read'],
            },
          ],
          defaultScopes: ['tables:read'],
          ...auth,
        },
        database: { url: 'memory:' },
      },
      { keySet: testKeySet() },
    );
    gates.push(gate);
    const seen: Principal[] = [];
    const app = express();
    app.use(gate.authenticate);
    app.get('/me', (req, res) => {
      seen.push(req.user!);
      res.json(req.user);
    });
    app.get('/tables', requireScopes('tables:read'), (_req, res) => {
      res.json({ data: [] });
    });
    app.post('/tables', requireScopes('tables:write'), (_req, res) => {
      res.status(201).json({});
    });
    app.delete('/tables', requireScopes('tables:write', 'tables:admin'), (_req, res) => {
      res.status(204).end();
    });
    app.get('/lineage', requireAnyScope('tables:read', 'lineage:read'), (_req, res) => {
      res.json({});
    });
    app.use(gate.errorHandler);
    return { app, gate, seen };
  }

  const ssoToken = (payload: Record<string, unknown> = {}): string =>
    signJwt({
      header: { kid: 'sso-1' },
      payload: { iss: SSO_ISSUER, aud: AUDIENCE, sub: 'u-1', email: 'alice@example.com', ...payload },
      key: ssoKey.privateKey,
    });
  const partnerToken = (payload: Record<string, unknown> = {}): string =>
    signJwt({
      header: { kid: 'p-1' },
      payload: { iss: PARTNER_ISSUER, aud: AUDIENCE, sub: 'svc', ...payload },
      key: partnerKey.privateKey,
    });

  async function scopesOf(app: Express, token: string): Promise<unknown> {
    const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.scopes;
  }

  for (const engine of ENGINES) {
    describe(`SSO tokens (engine: ${engine})`, function () {
      it('takes a space-separated `scope` claim and a `scp` array', async function () {
        const { app, seen } = await createServer(engine);
        assert.deepEqual(await scopesOf(app, ssoToken({ scope: 'tables:read  tables:write' })), [
          'tables:read',
          'tables:write',
        ]);
        assert.deepEqual(await scopesOf(app, ssoToken({ scp: ['tables:write', 'openid'] })), [
          'tables:write',
          'openid',
        ]);
        // Azure AD sends `scp` as a space-separated string: either shape is read from either claim.
        assert.deepEqual(await scopesOf(app, ssoToken({ scp: 'tables:read User.Read' })), [
          'tables:read',
          'User.Read',
        ]);
        assert.ok(
          seen.every((p) => Object.isFrozen(p.scopes)),
          'principal.scopes is frozen',
        );
      });

      it("gives a token without a scope claim its source's defaultScopes", async function () {
        const { app, seen } = await createServer(engine);
        assert.deepEqual(await scopesOf(app, ssoToken()), ['tables:read']);
        assert.deepEqual(await scopesOf(app, partnerToken()), ['partner:read']);
        assert.ok(Object.isFrozen(seen[0]!.scopes));
      });

      it('treats a present but empty claim as no scopes, never the defaults', async function () {
        const { app } = await createServer(engine);
        assert.deepEqual(await scopesOf(app, ssoToken({ scope: '' })), []);
        assert.deepEqual(await scopesOf(app, ssoToken({ scp: [] })), []);
        assert.deepEqual(await scopesOf(app, partnerToken({ scp: [] })), []);
        const res = await request(app)
          .get('/tables')
          .set('Authorization', `Bearer ${ssoToken({ scope: '' })}`);
        assert.equal(res.status, 403);
      });

      it('refuses a malformed scope claim with 401 ERR_TOKEN_CLAIM_INVALID', async function () {
        const { app } = await createServer(engine);
        for (const payload of [
          { scope: 42 },
          { scope: 'tables:read "quoted"' },
          { scope: { read: true } },
          { scp: ['tables:read', 7] },
          { scp: ['tables read'] },
          { scope: null },
        ]) {
          const res = await request(app)
            .get('/me')
            .set('Authorization', `Bearer ${ssoToken(payload)}`);
          assert.equal(res.status, 401, JSON.stringify(payload));
          assert.equal(res.body.errorCode, 'ERR_TOKEN_CLAIM_INVALID', JSON.stringify(payload));
          assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
        }
      });

      it("reads only the source's scopeClaim when one is configured", async function () {
        const { app } = await createServer(engine);
        // The partner source reads `scp`: its `scope` string is not a scope claim there.
        assert.deepEqual(await scopesOf(app, partnerToken({ scope: 'tables:write' })), ['partner:read']);
        assert.deepEqual(await scopesOf(app, partnerToken({ scp: ['tables:write'] })), ['tables:write']);
      });

      it('answers 403 insufficient_scope naming the required scopes, 200 with them', async function () {
        const { app } = await createServer(engine);
        const reader = ssoToken({ scope: 'tables:read' });
        assert.equal(
          (await request(app).get('/tables').set('Authorization', `Bearer ${reader}`)).status,
          200,
        );
        const res = await request(app).post('/tables').set('Authorization', `Bearer ${reader}`);
        assert.equal(res.status, 403);
        assert.equal(
          res.headers['www-authenticate'],
          'Bearer realm="jwt-gate", error="insufficient_scope", error_description="This operation requires the scope tables:write.", scope="tables:write"',
        );
        assert.deepEqual(res.body, {
          code: 403,
          message: 'This operation requires the scope tables:write.',
          errorCode: 'ERR_INSUFFICIENT_SCOPE',
        });
        const writer = ssoToken({ scp: ['tables:write'] });
        assert.equal(
          (await request(app).post('/tables').set('Authorization', `Bearer ${writer}`)).status,
          201,
        );
      });

      it('requires every scope of requireScopes, and one of requireAnyScope', async function () {
        const { app } = await createServer(engine);
        const writer = ssoToken({ scope: 'tables:write' });
        const partial = await request(app).delete('/tables').set('Authorization', `Bearer ${writer}`);
        assert.equal(partial.status, 403);
        assert.match(String(partial.headers['www-authenticate']), /, scope="tables:write tables:admin"$/);
        const both = ssoToken({ scope: 'tables:admin tables:write' });
        assert.equal(
          (await request(app).delete('/tables').set('Authorization', `Bearer ${both}`)).status,
          204,
        );

        const lineage = ssoToken({ scope: 'lineage:read' });
        assert.equal(
          (await request(app).get('/lineage').set('Authorization', `Bearer ${lineage}`)).status,
          200,
        );
        const neither = await request(app).get('/lineage').set('Authorization', `Bearer ${writer}`);
        assert.equal(neither.status, 403);
        assert.equal(
          neither.body.message,
          'This operation requires one of the scopes tables:read, lineage:read.',
        );
        assert.match(String(neither.headers['www-authenticate']), /, scope="tables:read lineage:read"$/);
      });

      it('keeps the scopes of a cached token: the second request gets the same principal', async function () {
        const { app, seen } = await createServer(engine);
        const token = ssoToken({ scope: 'tables:read tables:write' });
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(await scopesOf(app, token), ['tables:read', 'tables:write']);
          const res = await request(app).post('/tables').set('Authorization', `Bearer ${token}`);
          assert.equal(res.status, 201);
        }
        assert.equal(seen.length, 3);
        assert.equal(seen[2], seen[1], 'a cache hit hands over the cached principal itself');
        assert.equal(seen[2]!.scopes, seen[1]!.scopes);
      });
    });
  }

  describe('the guards', function () {
    it('answer 401 when the request was never authenticated', async function () {
      const app = express();
      app.get('/tables', requireScopes(['tables:read'], { realm: 'tables' }), (_req, res) => {
        res.json({});
      });
      app.use(
        (
          err: { status: number; headers: Record<string, string> },
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          res.status(err.status).set(err.headers).end();
        },
      );
      const res = await request(app).get('/tables');
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="tables"');
    });

    it('refuse misuse when created, saying how to fix it', function () {
      const refused = (create: () => unknown, pattern: RegExp): void => {
        assert.throws(create, (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, pattern);
          return true;
        });
      };
      refused(
        () => requireScopes(),
        /requireScopes\(\) needs at least one scope, e\.g\. requireScopes\('tables:read'\)/,
      );
      refused(() => requireAnyScope([]), /requireAnyScope\(\) needs at least one scope/);
      refused(
        () => requireScopes('tables:read tables:write'),
        /"tables:read tables:write" holds a space: list each scope as its own entry; e\.g\. requireScopes\('tables:read', 'tables:write'\)/,
      );
      refused(() => requireScopes('tables"read'), /holds a character a scope may not have/);
      refused(() => requireScopes({} as unknown as string), /requireScopes takes scope names/);
    });
  });

  describe('configuration', function () {
    it('reads defaultScopes and scopeClaim from the YAML and the environment', function () {
      const config = loadConfig({
        text: 'authenticationConfiguration:\n  defaultScopes: ${AUTHENTICATION_DEFAULT_SCOPES:-[tables:read,tables:write]}\n',
        env: {},
      });
      assert.deepEqual(config.authenticationConfiguration.defaultScopes, ['tables:read', 'tables:write']);
      assert.equal(config.authenticationConfiguration.scopeClaim, '');
      const fromEnv = loadConfig({
        text: '',
        env: { AUTHENTICATION_DEFAULT_SCOPES: 'openid', AUTHENTICATION_SCOPE_CLAIM: 'scp' },
      });
      assert.deepEqual(fromEnv.authenticationConfiguration.defaultScopes, ['openid']);
      assert.equal(fromEnv.authenticationConfiguration.scopeClaim, 'scp');
    });

    it('refuses a default scope that is not an RFC 6749 scope-token, naming the field', function () {
      assert.throws(
        () => loadConfig({ text: '', env: { AUTHENTICATION_DEFAULT_SCOPES: '["tables read"]' } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /authenticationConfiguration\.defaultScopes\[0\] \(from environment variable AUTHENTICATION_DEFAULT_SCOPES\)/.test(
            error.message,
          ) &&
          /"tables read" holds a space/.test(error.message),
      );
      assert.throws(
        () =>
          loadConfig({
            text: 'authenticationConfiguration:\n  publicKeyUrls:\n    - {url: "https://idp.example/jwks", issuer: i, audience: a, defaultScopes: ["a\\\\b"]}\n',
            env: {},
          }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /publicKeyUrls\[0\]\.defaultScopes\[0\]/.test(error.message) &&
          /character a scope may not have/.test(error.message),
      );
    });
  });
});
