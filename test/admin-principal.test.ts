import assert from 'node:assert/strict';
import express, { type Express } from 'express';
import request from 'supertest';
import type { JwtGateOptions } from '../lib/config/types.js';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { type JwksServer, startOneKeyJwksServer } from './support/jwks-server.js';
import { rsaPair, signJwt, testKeySet } from './support/tokens.js';

/**
 * Who is an admin: an SSO user only through a verified email (`<listed name>@principalDomain`, or
 * listed in full), whatever claim the display name came from — under every principal-claim
 * configuration the README documents, with both engines.
 */

const SSO_ISSUER = 'http://sso.test';
const PEER_ISSUER = 'http://peer.test';
const AUDIENCE = 'bots-page';

/** The principal-claim configurations the README shows. */
const CLAIM_CONFIGS: ReadonlyArray<{
  label: string;
  auth: JwtGateOptions['authenticationConfiguration'];
  emailClaim: string;
}> = [
  { label: 'default [email,preferred_username,sub]', auth: {}, emailClaim: 'email' },
  {
    label: 'jwtPrincipalClaims [preferred_username,email,sub]',
    auth: { jwtPrincipalClaims: ['preferred_username', 'email', 'sub'] },
    emailClaim: 'email',
  },
  {
    label: 'jwtPrincipalClaims [sub,email]',
    auth: { jwtPrincipalClaims: ['sub', 'email'] },
    emailClaim: 'email',
  },
  {
    label: 'mapping [username:preferred_username,email:email]',
    auth: { jwtPrincipalClaimsMapping: ['username:preferred_username', 'email:email'] },
    emailClaim: 'email',
  },
  {
    label: 'mapping [username:preferred_username,email:upn]',
    auth: { jwtPrincipalClaimsMapping: ['username:preferred_username', 'email:upn'] },
    emailClaim: 'upn',
  },
];

const ENGINES = ['direct', 'passport'] as const;

describe('who is an admin', function () {
  let sso: JwksServer;
  let peer: JwksServer;
  const ssoKey = rsaPair('admin-sso');
  const peerKey = rsaPair('admin-peer');

  before(async function () {
    sso = await startOneKeyJwksServer(ssoKey.publicKey, 'sso-1');
    peer = await startOneKeyJwksServer(peerKey.publicKey, 'peer-1');
  });
  after(async () => {
    await sso.close();
    await peer.close();
  });

  const gates: JwtGate[] = [];
  afterEach(async () => {
    for (const gate of gates.splice(0)) await gate.close();
  });

  /** The app a user builds: the gate, the bots API (admins only) and one route showing req.user. */
  async function createServer(
    engine: (typeof ENGINES)[number],
    auth: JwtGateOptions['authenticationConfiguration'] = {},
  ): Promise<Express> {
    const gate = await createJwtGate(
      {
        jwtTokenConfiguration: { jwtissuer: 'open-metadata.org', keyId: 'test-kid' },
        authenticationConfiguration: {
          provider: 'custom-oidc',
          authority: SSO_ISSUER,
          clientId: AUDIENCE,
          publicKeyUrls: [
            sso.jwksUri,
            { url: peer.jwksUri, issuer: PEER_ISSUER, audience: 'jwt-gate', trustBotClaims: true },
          ],
          ...auth,
        },
        authorizerConfiguration: {
          adminPrincipals: ['admin', 'jane@partner.org'],
          principalDomain: 'example.com',
        },
        verificationConfiguration: { engine },
        database: { url: 'memory:' },
      },
      { keySet: testKeySet() },
    );
    gates.push(gate);
    const app = express();
    app.use(gate.authenticate);
    app.get('/api/v1/users/loggedInUser', (req, res) => {
      res.json(req.user);
    });
    app.use(gate.botsRouter);
    app.use(gate.errorHandler);
    return app;
  }

  const ssoToken = (claims: Record<string, unknown>): string =>
    signJwt({
      header: { kid: 'sso-1' },
      payload: { iss: SSO_ISSUER, aud: AUDIENCE, sub: 'u-1', ...claims },
      key: ssoKey.privateKey,
    });

  const peerToken = (claims: Record<string, unknown>): string =>
    signJwt({
      header: { kid: 'peer-1' },
      payload: { iss: PEER_ISSUER, aud: 'jwt-gate', jti: `peer-${claims.sub as string}`, ...claims },
      key: peerKey.privateKey,
    });

  async function whoAmI(app: Express, token: string): Promise<request.Response> {
    return request(app).get('/api/v1/users/loggedInUser').set('Authorization', `Bearer ${token}`);
  }

  for (const engine of ENGINES) {
    for (const { label, auth, emailClaim } of CLAIM_CONFIGS) {
      describe(`${label}, engine: ${engine}`, function () {
        it('never makes a verified bob@example.com an admin through a chosen username or subject', async function () {
          const app = await createServer(engine, auth);
          const token = ssoToken({
            [emailClaim]: 'bob@example.com',
            preferred_username: 'admin',
            sub: 'admin',
          });
          const me = await whoAmI(app, token);
          assert.equal(me.status, 200, JSON.stringify(me.body));
          assert.equal(me.body.isAdmin, false);
          // The attack the review found: list bots, then mint an Unlimited token for ingestion-bot.
          const list = await request(app).get('/api/v1/bots').set('Authorization', `Bearer ${token}`);
          assert.equal(list.status, 403);
          assert.match(String(list.headers['www-authenticate']), /error="insufficient_scope"/);
          const mint = await request(app)
            .put('/api/v1/bots/ingestion-bot/token')
            .set('Authorization', `Bearer ${token}`)
            .send({ JWTTokenExpiry: 'Unlimited' });
          assert.equal(mint.status, 403);
          assert.equal(mint.body.JWTToken, undefined);
        });

        it('makes a verified admin@example.com an admin whatever its display name', async function () {
          const app = await createServer(engine, auth);
          const token = ssoToken({
            [emailClaim]: 'Admin@Example.com',
            preferred_username: 'the-boss',
            sub: 'u-77',
          });
          const me = await whoAmI(app, token);
          assert.equal(me.status, 200, JSON.stringify(me.body));
          assert.equal(me.body.isAdmin, true);
          const list = await request(app).get('/api/v1/bots').set('Authorization', `Bearer ${token}`);
          assert.equal(list.status, 200);
        });

        it('makes a listed full email an admin, and nobody else of that domain', async function () {
          const app = await createServer(engine, auth);
          const jane = await whoAmI(
            app,
            ssoToken({ [emailClaim]: 'jane@partner.org', preferred_username: 'jane' }),
          );
          assert.equal(jane.body.isAdmin, true);
          const other = await whoAmI(
            app,
            ssoToken({ [emailClaim]: 'admin@partner.org', preferred_username: 'admin' }),
          );
          assert.equal(other.status, 200);
          assert.equal(other.body.isAdmin, false, 'admin@ another domain');
        });

        it('never makes an admin of an email the IdP marks unverified', async function () {
          const app = await createServer(engine, auth);
          const res = await whoAmI(
            app,
            ssoToken({
              [emailClaim]: 'admin@example.com',
              email_verified: false,
              preferred_username: 'admin',
            }),
          );
          // 401 where the name or the mapping needs the email, else a principal without email.
          if (res.status === 200) {
            assert.equal(res.body.isAdmin, false);
            assert.equal(res.body.email, null);
          } else {
            assert.equal(res.status, 401);
            assert.equal(res.body.errorCode, 'ERR_PRINCIPAL_INVALID');
          }
        });

        it('never makes an admin of a user with no email at all', async function () {
          const app = await createServer(engine, auth);
          const res = await whoAmI(app, ssoToken({ preferred_username: 'admin', sub: 'admin' }));
          if (res.status === 200) assert.equal(res.body.isAdmin, false);
          else assert.equal(res.body.errorCode, 'ERR_PRINCIPAL_INVALID', 'the mapping needs its email');
        });

        for (const email of [
          'admin@evil.com@example.com',
          'admin@example.com@evil.com',
          '@example.com',
          'admin@',
          'admin @example.com',
          'admin@example.com\n',
        ]) {
          it(`refuses the email ${JSON.stringify(email)} with a clear 401, never an admin`, async function () {
            const app = await createServer(engine, auth);
            const token = ssoToken({ [emailClaim]: email, preferred_username: 'admin', sub: 'admin' });
            const res = await whoAmI(app, token);
            assert.equal(res.status, 401, JSON.stringify(res.body));
            assert.equal(res.body.errorCode, 'ERR_PRINCIPAL_INVALID');
            assert.match(res.body.message, /not a single email address/);
            assert.match(
              String(res.headers['www-authenticate']),
              /^Bearer realm="jwt-gate", error="invalid_token"/,
            );
            assert.ok(!res.text.includes(token));
          });
        }
      });
    }

    describe(`a trusted jwt-gate peer's tokens (trustBotClaims), engine: ${engine}`, function () {
      it('grants admin rights by the same rule: a verified email, never the name alone', async function () {
        const app = await createServer(engine);
        const byName = await whoAmI(
          app,
          peerToken({ sub: 'admin', email: 'someone@evil.org', isBot: false, tokenType: 'OM_USER' }),
        );
        assert.equal(byName.status, 200, JSON.stringify(byName.body));
        assert.equal(byName.body.tokenType, 'OM_USER');
        assert.equal(byName.body.isAdmin, false);
        const byEmail = await whoAmI(
          app,
          peerToken({ sub: 'ops', email: 'admin@example.com', isBot: false, tokenType: 'OM_USER' }),
        );
        assert.equal(byEmail.body.isAdmin, true);
      });

      it("refuses a peer's personal access token, whose revocation this store cannot see", async function () {
        const app = await createServer(engine);
        const res = await whoAmI(
          app,
          peerToken({ sub: 'jane', email: 'jane@example.com', isBot: false, tokenType: 'PERSONAL_ACCESS' }),
        );
        assert.equal(res.status, 401);
        assert.equal(res.body.errorCode, 'ERR_TOKEN_REVOKED');
      });

      it("checks a peer's bot token against the shared store: one this store never issued is refused", async function () {
        const app = await createServer(engine);
        const res = await whoAmI(
          app,
          peerToken({
            sub: 'ingestion-bot',
            email: 'ingestion-bot@example.com',
            isBot: true,
            tokenType: 'BOT',
          }),
        );
        assert.equal(res.status, 401);
        assert.equal(res.body.errorCode, 'ERR_TOKEN_REVOKED');
      });
    });
  }
});
