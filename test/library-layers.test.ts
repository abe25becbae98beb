import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import express, { type Express } from 'express';
import request from 'supertest';
import type { JwtGateOptions } from '../lib/config/types.js';
import { ConfigError } from '../lib/errors.js';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { type JwksServer, startOneKeyJwksServer } from './support/jwks-server.js';
import { rsaPair, signJwt } from './support/tokens.js';

/**
 * The layers an app opts into: SSO verification alone needs no key, no store and no file; bot
 * tokens come with keys; nothing lets a request without a token in unless the app says `no-auth`.
 */
describe('a gate in someone else’s app: layers and defaults', function () {
  const ISSUER = 'https://idp.example.org';
  const AUDIENCE = 'my-api';
  const idpKey = rsaPair('layers-idp');
  let idp: JwksServer;
  let cwd: string;
  const previousCwd = process.cwd();
  const gates: JwtGate[] = [];

  before(async function () {
    idp = await startOneKeyJwksServer(idpKey.publicKey, 'idp-1');
    // An empty working directory: anything a gate wrote there unasked would show.
    cwd = mkdtempSync(path.join(tmpdir(), 'jwt-gate-layers-'));
    process.chdir(cwd);
  });
  after(async function () {
    process.chdir(previousCwd);
    rmSync(cwd, { recursive: true, force: true });
    await idp.close();
  });
  afterEach(async function () {
    for (const gate of gates.splice(0)) await gate.close();
  });

  const ssoOnly = (): JwtGateOptions => ({
    authenticationConfiguration: { publicKeyUrls: [idp.jwksUri], authority: ISSUER, clientId: AUDIENCE },
  });

  async function appOf(options: JwtGateOptions): Promise<{ app: Express; gate: JwtGate }> {
    const gate = await createJwtGate(options);
    gates.push(gate);
    const app = express();
    app.use(gate.authenticate);
    app.get('/api/v1/tables', (req, res) => {
      res.json({ user: req.user?.name ?? null });
    });
    app.use(gate.errorHandler);
    return { app, gate };
  }

  const idpToken = (): string =>
    signJwt({
      header: { kid: 'idp-1' },
      payload: { iss: ISSUER, aud: AUDIENCE, sub: 'u-1', email: 'jane@example.org' },
      key: idpKey.privateKey,
    });

  it('verifies SSO tokens with no key, no store and no file', async function () {
    const { app, gate } = await appOf(ssoOnly());
    assert.equal(gate.hasKeys, false);
    const ok = await request(app).get('/api/v1/tables').set('Authorization', `Bearer ${idpToken()}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { user: 'jane' });
    const denied = await request(app).get('/api/v1/tables');
    assert.equal(denied.status, 401);
    assert.match(String(denied.headers['www-authenticate']), /^Bearer realm="jwt-gate"/);
    assert.deepEqual((await request(app).get('/api/v1/config/jwks')).body, { keys: [] });
    assert.equal(gate.health().store, null, 'no store was opened');
    assert.deepEqual(readdirSync(cwd), [], 'nothing written to the working directory');
  });

  it('opens no store for SSO verification, even when database.url names a file', async function () {
    const file = path.join(cwd, 'never', 'bots.db');
    await appOf({ ...ssoOnly(), database: { url: `sqlite:${file}` } });
    assert.equal(existsSync(path.dirname(file)), false);
  });

  it('says what is missing when a gate without keys is asked for bot tokens', async function () {
    const { gate } = await appOf(ssoOnly());
    for (const use of [
      () => gate.botsRouter,
      () => gate.bots,
      () => gate.mintToken({ subject: 'x', isBot: false, tokenType: 'OM_USER', expiry: '1' }),
    ]) {
      assert.throws(use, (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /needs this server's own keys/);
        assert.match(err.message, /jwtTokenConfiguration\.rsaprivateKey \(RSA_PRIVATE_KEY\)/);
        return true;
      });
    }
  });

  it('refuses to start with nothing to verify tokens with', async function () {
    await assert.rejects(createJwtGate({}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /publicKeyUrls \(AUTHENTICATION_PUBLIC_KEYS\) is empty/);
      return true;
    });
  });

  it('lets a request without a token in only when the app itself says no-auth', async function () {
    const closed = await appOf(ssoOnly());
    assert.equal((await request(closed.app).get('/api/v1/tables')).status, 401, 'the default fails closed');
    const open = await appOf({ authenticationConfiguration: { provider: 'no-auth' } });
    const res = await request(open.app).get('/api/v1/tables');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { user: 'anonymous' });
  });

  it('publishes no authority it was not given (explicit sources only)', async function () {
    const { app } = await appOf({
      authenticationConfiguration: {
        publicKeyUrls: [{ url: idp.jwksUri, issuer: ISSUER, audience: AUDIENCE }],
      },
    });
    const res = await request(app).get('/api/v1/system/config/auth');
    assert.equal(res.status, 200);
    assert.equal(res.body.authority, '');
    assert.equal(res.body.provider, 'custom-oidc');
  });

  it('creates no bot unless the configuration lists it', async function () {
    const pem = rsaPair('layers-self').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const withKeys = { ...ssoOnly(), jwtTokenConfiguration: { rsaprivateKey: pem } };
    const plain = await appOf(withKeys);
    assert.deepEqual(await plain.gate.bots.listBots(), []);
    const listed = await appOf({ ...withKeys, botConfiguration: { defaultBots: ['ingestion-bot', 'etl'] } });
    assert.deepEqual(
      (await listed.gate.bots.listBots()).map((b) => [b.name, b.displayName]),
      [
        ['etl', 'etl'],
        ['ingestion-bot', 'Ingestion Bot'],
      ],
    );
    assert.deepEqual(readdirSync(cwd), [], 'the default store is memory: nothing on disk');
  });

  it('keeps private key material and configured secrets out of the gate object', async function () {
    const pair = rsaPair('layers-self');
    const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const detailsToken = 'health-details-token-'.padEnd(40, 'h');
    const nonceSecret = 'dpop-nonce-secret-'.padEnd(40, 'n');
    const { gate } = await appOf({
      ...ssoOnly(),
      jwtTokenConfiguration: { rsaprivateKey: pem },
      healthConfiguration: { detailsToken },
      dpopConfiguration: { nonceSecret, requireNonce: true },
    });
    assert.equal(gate.hasKeys, true);
    assert.equal(gate.config.jwtTokenConfiguration.rsaprivateKey, undefined);
    assert.equal(gate.config.healthConfiguration.detailsToken, '');
    assert.equal(gate.config.dpopConfiguration.nonceSecret, '');
    const privateD = pair.privateKey.export({ format: 'jwk' }).d!;
    const seen = inspect(gate, { depth: 8, showHidden: true, getters: true });
    assert.ok(!seen.includes('PRIVATE KEY') && !seen.includes(privateD), 'no private key reachable');
    assert.ok(!seen.includes(detailsToken) && !seen.includes(nonceSecret), 'no configured secret reachable');
    assert.ok(!('keySet' in gate));
    assert.ok(Object.isFrozen(gate));
  });
});
