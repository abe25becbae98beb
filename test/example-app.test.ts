/**
 * Acceptance tests of the example app, started the way `npm start` starts it (`startExample()`):
 * dev keys generated on first start, the development SSO, jwt-gate in front of the catalog API.
 * Tokens are real: an SSO login through the dev SSO, bot tokens from the bot API.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { IngestionAuthError } from '../lib/client/index.js';
import { generateKeyFiles } from '../lib/keys/index.js';
import { runIngestion } from '../example-app/run-ingestion.js';
import { loginWithAuthorizationCode } from '../example-app/dev-sso/index.js';
import { DEFAULT_CONFIG_PATH, startExample, type RunningExample } from '../example-app/start.js';
import { type JwksServer, startJwksServer } from './support/jwks-server.js';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('example app (npm start)', function () {
  this.timeout(20_000);

  let dir: string;
  let keysDir: string;
  let keysBeforeStart: boolean;
  let app: RunningExample;
  let adminToken: string;
  let botToken: string;

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-example-'));
    keysDir = path.join(dir, 'keys');
    keysBeforeStart = existsSync(path.join(keysDir, 'private_key.der'));
    app = await startExample({ port: 0, ssoPort: 0, databaseUrl: 'memory:', env: keyEnv(keysDir) });
    adminToken = await ssoLogin(app, 'admin', 'admin');
    const minted = await request(app.url)
      .put('/api/v1/bots/ingestion-bot/token')
      .auth(adminToken, { type: 'bearer' })
      .send({ JWTTokenExpiry: '7' })
      .expect(200);
    botToken = minted.body.JWTToken as string;
  });

  after(async function () {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates development keys on first start, the private key readable only by its owner', function () {
    assert.equal(keysBeforeStart, false);
    assert.equal(statSync(path.join(keysDir, 'private_key.der')).mode & 0o777, 0o600);
    assert.ok(existsSync(path.join(keysDir, 'public_key.der')));
  });

  it('publishes a JWKS, without login, that an independent verifier accepts and a one-byte change defeats', async function () {
    const res = await request(app.url).get('/api/v1/config/jwks').expect(200);
    const jwks = createLocalJWKSet(res.body as JSONWebKeySet);
    const { payload } = await jwtVerify(botToken, jwks, {
      issuer: 'open-metadata.org',
      audience: 'jwt-gate',
    });
    assert.equal(payload.sub, 'ingestion-bot');

    const [header, body, signature] = botToken.split('.') as [string, string, string];
    const i = Math.floor(signature.length / 2);
    const tampered = `${header}.${body}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
    await assert.rejects(jwtVerify(tampered, jwks), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    await request(app.url).get('/api/v1/tables').auth(tampered, { type: 'bearer' }).expect(401);
  });

  it('answers 401 with an RFC 6750 challenge and the reference body when no token is sent', async function () {
    for (const [method, url] of [
      ['get', '/api/v1/tables'],
      ['post', '/api/v1/tables'],
      ['post', '/api/v1/lineage'],
      ['get', '/api/v1/users/loggedInUser'],
    ] as const) {
      const res = await request(app.url)[method](url).expect(401);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer realm="jwt-gate"/);
      assert.equal(res.body.code, 401);
      assert.match(res.body.message, /^Not Authorized!/);
    }
  });

  it('lets an SSO admin and a bot create and list tables and lineage', async function () {
    const created = await request(app.url)
      .post('/api/v1/tables')
      .auth(adminToken, { type: 'bearer' })
      .send({ name: 'customers', columns: [{ name: 'id', dataType: 'BIGINT' }] })
      .expect(201);
    assert.equal(created.body.updatedBy, 'admin');
    await request(app.url)
      .post('/api/v1/tables')
      .auth(botToken, { type: 'bearer' })
      .send({ name: 'customer_orders', columns: [] })
      .expect(201);
    const edge = await request(app.url)
      .post('/api/v1/lineage')
      .auth(botToken, { type: 'bearer' })
      .send({ from: 'customers', to: 'customer_orders' })
      .expect(201);
    assert.deepEqual(edge.body, { from: 'customers', to: 'customer_orders', addedBy: 'ingestion-bot' });

    for (const token of [adminToken, botToken]) {
      const list = await request(app.url).get('/api/v1/tables').auth(token, { type: 'bearer' }).expect(200);
      const names = (list.body.data as Array<{ name: string }>).map((t) => t.name);
      assert.ok(names.includes('customers') && names.includes('customer_orders'), names.join());
    }
  });

  it('answers loggedInUser with the principal of an SSO user and of a bot', async function () {
    const admin = await request(app.url)
      .get('/api/v1/users/loggedInUser')
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    assert.deepEqual(
      {
        name: admin.body.name,
        email: admin.body.email,
        isAdmin: admin.body.isAdmin,
        isBot: admin.body.isBot,
        issuer: admin.body.issuer,
      },
      { name: 'admin', email: 'admin@example.com', isAdmin: true, isBot: false, issuer: app.ssoIssuer },
    );
    assert.equal(admin.body.tokenType, null);
    const bot = await request(app.url)
      .get('/api/v1/users/loggedInUser')
      .auth(botToken, { type: 'bearer' })
      .expect(200);
    assert.deepEqual(
      {
        name: bot.body.name,
        isAdmin: bot.body.isAdmin,
        isBot: bot.body.isBot,
        tokenType: bot.body.tokenType,
        source: bot.body.source,
      },
      { name: 'ingestion-bot', isAdmin: false, isBot: true, tokenType: 'BOT', source: 'self' },
    );
  });

  it('needs tables:read to read and tables:write to write: people and ingestion-bot have both, by default', async function () {
    for (const token of [adminToken, botToken]) {
      const me = await request(app.url).get('/api/v1/users/loggedInUser').auth(token, { type: 'bearer' });
      assert.deepEqual(me.body.scopes, ['tables:read', 'tables:write']);
    }
    const bot = await request(app.url)
      .get('/api/v1/bots/ingestion-bot')
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    assert.deepEqual(bot.body.allowedScopes, ['tables:read', 'tables:write']);
  });

  it('answers 403 insufficient_scope to a bot token minted with only tables:read on POST /api/v1/tables', async function () {
    await request(app.url)
      .post('/api/v1/bots')
      .auth(adminToken, { type: 'bearer' })
      .send({ name: 'report-bot', allowedScopes: ['tables:read', 'tables:write'] })
      .expect(201);
    const minted = await request(app.url)
      .put('/api/v1/bots/report-bot/token')
      .auth(adminToken, { type: 'bearer' })
      .send({ JWTTokenExpiry: '1', scopes: ['tables:read'] })
      .expect(200);
    const reader = minted.body.JWTToken as string;
    await request(app.url).get('/api/v1/tables').auth(reader, { type: 'bearer' }).expect(200);
    await request(app.url).get('/api/v1/lineage').auth(reader, { type: 'bearer' }).expect(200);
    for (const url of ['/api/v1/tables', '/api/v1/lineage']) {
      const denied = await request(app.url)
        .post(url)
        .auth(reader, { type: 'bearer' })
        .send({ name: 'nope', columns: [] })
        .expect(403);
      // Then the RFC 9728 resource_metadata the example app configures.
      assert.ok(
        String(denied.headers['www-authenticate']).startsWith(
          'Bearer realm="jwt-gate", error="insufficient_scope", error_description="This operation requires the scope tables:write.", scope="tables:write"',
        ),
        denied.headers['www-authenticate'],
      );
      assert.deepEqual(denied.body, {
        code: 403,
        message: 'This operation requires the scope tables:write.',
        errorCode: 'ERR_INSUFFICIENT_SCOPE',
      });
    }
    const outside = await request(app.url)
      .put('/api/v1/bots/report-bot/token')
      .auth(adminToken, { type: 'bearer' })
      .send({ JWTTokenExpiry: '1', scopes: ['tables:admin'] })
      .expect(400);
    assert.match(outside.body.message, /not allowed the scope tables:admin/);
  });

  it('runs the ingestion script against the API with the bot token from the workflow file', async function () {
    const workflow = writeWorkflow(dir, app.url, botToken);
    const { code, stdout, stderr } = await runScript(['example-app/ingest.ts', workflow]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /tables created or updated\s+2/);
    assert.match(stdout, /lineage edges added\s+1/);

    const tables = await request(app.url)
      .get('/api/v1/tables')
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    const landed = (tables.body.data as Array<{ name: string; updatedBy: string }>).filter((t) =>
      ['raw_orders', 'daily_revenue'].includes(t.name),
    );
    assert.deepEqual(landed.map((t) => [t.name, t.updatedBy]).sort(), [
      ['daily_revenue', 'ingestion-bot'],
      ['raw_orders', 'ingestion-bot'],
    ]);
    const lineage = await request(app.url)
      .get('/api/v1/lineage')
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    assert.ok(
      (lineage.body.data as Array<{ from: string; to: string }>).some(
        (e) => e.from === 'raw_orders' && e.to === 'daily_revenue',
      ),
    );
  });

  it('stops ingestion with a clear error once the bot token is replaced', async function () {
    const workflow = writeWorkflow(dir, app.url, botToken);
    await request(app.url)
      .put('/api/v1/bots/ingestion-bot/token')
      .auth(adminToken, { type: 'bearer' })
      .send({ JWTTokenExpiry: '1' })
      .expect(200);
    await assert.rejects(runIngestion(workflow, undefined, { env: {} }), (err: unknown) => {
      assert.ok(err instanceof IngestionAuthError);
      assert.equal(err.status, 401);
      assert.match(err.message, /revoked or replaced/);
      assert.ok(!err.message.includes(botToken));
      return true;
    });
  });

  describe('the development SSO (JWT_GATE_DEV_SSO)', function () {
    let idp: JwksServer;
    let other: JwksServer;
    before(async function () {
      idp = await startJwksServer();
      other = await startJwksServer();
    });
    after(async function () {
      await idp.close();
      await other.close();
    });

    it('never replaces a configured identity provider or its JWKS', async function () {
      const configured = await startExample({
        port: 0,
        databaseUrl: 'memory:',
        env: {
          ...keyEnv(keysDir),
          AUTHENTICATION_AUTHORITY: 'https://idp.example.org',
          AUTHENTICATION_PUBLIC_KEYS: `[${idp.jwksUri}]`,
        },
      });
      try {
        assert.equal(configured.ssoIssuer, null, 'no dev SSO');
        const auth = configured.config.authenticationConfiguration;
        assert.equal(auth.authority, 'https://idp.example.org');
        assert.deepEqual(auth.publicKeyUrls, [idp.jwksUri]);
        const published = await request(configured.url).get('/api/v1/system/config/auth').expect(200);
        assert.equal(published.body.authority, 'https://idp.example.org');
      } finally {
        await configured.close();
      }
    });

    it('refuses to be forced over a configured identity provider', async function () {
      await assert.rejects(
        startExample({
          port: 0,
          databaseUrl: 'memory:',
          env: {
            ...keyEnv(keysDir),
            JWT_GATE_DEV_SSO: 'true',
            AUTHENTICATION_AUTHORITY: 'https://idp.example.org',
            AUTHENTICATION_PUBLIC_KEYS: `[${idp.jwksUri}]`,
          },
        }),
        { code: 'ERR_CONFIG_INVALID', message: /never replaces a configured identity provider/ },
      );
    });

    it('replaces only the bundled JWKS entry, keeping other loopback sources', async function () {
      // An explicit source of a local service next to the bundled SSO's JWKS.
      const yaml = readFileSync(DEFAULT_CONFIG_PATH, 'utf8').replace(
        /^ {2}publicKeyUrls: .*$/m,
        `  publicKeyUrls:\n    - http://localhost:9090/jwks\n    - { url: "${other.jwksUri}", issuer: other, audience: other }`,
      );
      const configPath = path.join(path.dirname(DEFAULT_CONFIG_PATH), `.test-${process.pid}.yaml`);
      writeFileSync(configPath, yaml);
      try {
        const withOther = await startExample({
          configPath,
          port: 0,
          ssoPort: 0,
          databaseUrl: 'memory:',
          env: keyEnv(keysDir),
        });
        try {
          assert.notEqual(withOther.ssoIssuer, null);
          const urls = withOther.config.authenticationConfiguration.publicKeyUrls.map((u) =>
            typeof u === 'string' ? u : u.url,
          );
          assert.ok(urls.includes(other.jwksUri), `kept: ${urls.join(', ')}`);
          assert.ok(!urls.includes('http://localhost:9090/jwks'), 'the bundled entry is swapped');
        } finally {
          await withOther.close();
        }
      } finally {
        rmSync(configPath, { force: true });
      }
    });

    it('is off with JWT_GATE_DEV_SSO=false, and refuses a value that is not true or false', async function () {
      const off = await startExample({
        port: 0,
        databaseUrl: 'memory:',
        env: { ...keyEnv(keysDir), JWT_GATE_DEV_SSO: 'false' },
      });
      try {
        assert.equal(off.ssoIssuer, null);
      } finally {
        await off.close();
      }
      await assert.rejects(
        startExample({
          port: 0,
          databaseUrl: 'memory:',
          env: { ...keyEnv(keysDir), JWT_GATE_DEV_SSO: 'yes' },
        }),
        { code: 'ERR_CONFIG_INVALID', message: /JWT_GATE_DEV_SSO must be "true" or "false"/ },
      );
    });
  });

  describe('in production (NODE_ENV=production)', function () {
    it('refuses to start without keys, naming the setting', async function () {
      const empty = mkdtempSync(path.join(tmpdir(), 'jwt-gate-example-prod-'));
      try {
        await assert.rejects(
          startExample({
            port: 0,
            databaseUrl: 'memory:',
            env: { ...keyEnv(path.join(empty, 'keys')), NODE_ENV: 'production' },
          }),
          { code: 'ERR_KEY_INVALID', message: /rsaprivateKeyFilePath/ },
        );
        assert.equal(
          existsSync(path.join(empty, 'keys', 'private_key.der')),
          false,
          'no keys are generated in production',
        );
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it('refuses the development SSO', async function () {
      const keys = path.join(dir, 'prod-keys');
      await generateKeyFiles(keys);
      await assert.rejects(
        startExample({
          port: 0,
          ssoPort: 0,
          databaseUrl: 'memory:',
          devSso: true,
          env: { ...keyEnv(keys), NODE_ENV: 'production' },
        }),
        { code: 'ERR_CONFIG_INVALID', message: /development SSO is refused when NODE_ENV=production/ },
      );
    });
  });
});

function keyEnv(keysDir: string): NodeJS.ProcessEnv {
  return {
    RSA_PRIVATE_KEY_FILE_PATH: path.join(keysDir, 'private_key.der'),
    RSA_PUBLIC_KEY_FILE_PATH: path.join(keysDir, 'public_key.der'),
  };
}

/** A real authorization-code + PKCE login at the app's dev SSO; returns the ID token. */
async function ssoLogin(app: RunningExample, username: string, password: string): Promise<string> {
  const auth = app.config.authenticationConfiguration;
  const { idToken } = await loginWithAuthorizationCode({
    baseUrl: app.ssoIssuer!,
    issuer: app.ssoIssuer!,
    clientId: auth.clientId,
    redirectUri: auth.callbackUrl,
    username,
    password,
  });
  return idToken;
}

/** The reference's workflow shape, the token kept in a file next to it (the recommended form). */
function writeWorkflow(dir: string, url: string, token: string): string {
  writeFileSync(path.join(dir, 'ingestion-bot.token'), token, { mode: 0o600 });
  const file = path.join(dir, 'workflow.yaml');
  writeFileSync(
    file,
    [
      'source: { type: postgres, serviceName: local_shop }',
      'sink: { type: metadata-rest, config: {} }',
      'workflowConfig:',
      '  openMetadataServerConfig:',
      `    hostPort: ${url}/api`,
      '    authProvider: openmetadata',
      '    securityConfig:',
      '      jwtToken: ./ingestion-bot.token',
      '',
    ].join('\n'),
  );
  return file;
}

function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
