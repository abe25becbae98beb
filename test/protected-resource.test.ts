/**
 * RFC 9728 protected-resource metadata: the document at `/.well-known/oauth-protected-resource`
 * (and its path-suffixed form), public at exactly those paths, and `resource_metadata` in every
 * challenge — with both verification engines, and in the example app.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express, { type Express } from 'express';
import request from 'supertest';
import { loadConfig } from '../lib/config/load-config.js';
import { resolveOptions } from '../lib/config/resolve-options.js';
import type { JwtGateOptions } from '../lib/config/types.js';
import { ConfigError } from '../lib/errors.js';
import { createJwtGate, type JwtGate, type JwtGateDependencies } from '../lib/gate.js';
import {
  createProtectedResourceRouter,
  protectedResourceMetadataUrl,
} from '../lib/http/routes/protected-resource-router.js';
import { GOOGLE_CERTS_URL } from '../lib/verify/build-key-sources.js';
import { PIPELINE_SERVICE_CONFIG_PATH } from '../example-app/pipeline-service/start.js';
import { DEFAULT_CONFIG_PATH, startExample, type RunningExample } from '../example-app/start.js';
import { signJwt, testKeySet } from './support/tokens.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
const RESOURCE = 'https://api.example.com';
const METADATA_URL = `${RESOURCE}${WELL_KNOWN}`;
const ISSUER = 'https://api.example.com/auth';
/** A person (not an admin) with a token of our own. */
const ALICE = {
  subject: 'alice',
  email: 'alice@example.com',
  isBot: false,
  tokenType: 'OM_USER',
  expiry: '1',
} as const;

/** A gate in front of a small API, the way an app wires it; sources are never fetched. */
async function createServer(
  options: JwtGateOptions = {},
  deps: JwtGateDependencies = {},
): Promise<{ app: Express; gate: JwtGate }> {
  const gate = await createJwtGate(
    {
      ...options,
      jwtTokenConfiguration: { jwtissuer: ISSUER, keyId: 'test-kid', ...options.jwtTokenConfiguration },
      authenticationConfiguration: {
        provider: 'custom-oidc',
        publicKeyUrls: ['https://sso.example.com/jwks'],
        authority: 'https://sso.example.com',
        clientId: 'api',
        ...options.authenticationConfiguration,
      },
      protectedResourceConfiguration: { resource: RESOURCE, ...options.protectedResourceConfiguration },
      database: { url: 'memory:' },
    },
    { keySet: testKeySet(), skipPrefetch: true, ...deps },
  );
  const app = express();
  app.use(gate.authenticate);
  app.get('/api/v1/tables', (_req, res) => {
    res.json({ data: [] });
  });
  app.post('/api/v1/admin-only', gate.requireAdmin, (_req, res) => {
    res.json({ ok: true });
  });
  app.use(gate.errorHandler);
  return { app, gate };
}

/** Sends the request target verbatim (no client-side normalisation of dots or escapes). */
function rawGet(app: Express, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const server: Server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => server.close(() => resolve({ status: res.statusCode ?? 0, body })));
      });
      req.on('error', (err) => server.close(() => reject(err)));
      req.end();
    });
  });
}

function assertConfigRefused(options: JwtGateOptions, ...patterns: RegExp[]): void {
  assert.throws(
    () => resolveOptions(options),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
      for (const pattern of patterns) assert.match(err.message, pattern);
      return true;
    },
  );
}

/** What every gate's document says of DPoP (RFC 9728 §2): supported, with these proof algorithms, not required. */
const DPOP_MEMBERS = {
  dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256', 'PS256'],
  dpop_bound_access_tokens_required: false,
};
/** The DPoP challenge a missing-token 401 adds after the Bearer one (RFC 9449 §7.1). */
const dpopChallenge = (metadata?: string): string =>
  `DPoP realm="jwt-gate", algs="ES256 EdDSA RS256 PS256"${metadata === undefined ? '' : `, resource_metadata="${metadata}"`}`;

describe('protected-resource metadata (RFC 9728)', function () {
  describe('the document', function () {
    it('has exactly resource, authorization_servers, scopes_supported, bearer_methods_supported and resource_name', async function () {
      const { app } = await createServer({
        authenticationConfiguration: {
          publicKeyUrls: [
            'https://sso.example.com/jwks',
            {
              url: 'https://okta.example.com/keys',
              issuer: 'urn:okta',
              audience: 'api',
              defaultScopes: ['a:b'],
            },
          ],
          defaultScopes: ['tables:read', 'lineage:read'],
        },
        botConfiguration: { defaultBotScopes: ['pipelines:deploy', 'tables:write'] },
        protectedResourceConfiguration: {
          resourceName: 'Catalog API',
          scopesSupported: ['tables:write', 'tables:read', 'tables:read'],
        },
      });
      const res = await request(app).get(WELL_KNOWN).expect(200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      assert.deepEqual(JSON.parse(res.text), {
        resource: RESOURCE,
        authorization_servers: [ISSUER, 'https://sso.example.com'],
        // The configured list, every source's defaultScopes and the default bots' scopes; sorted, once each.
        scopes_supported: ['a:b', 'lineage:read', 'pipelines:deploy', 'tables:read', 'tables:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'Catalog API',
        ...DPOP_MEMBERS,
      });
      assert.equal(res.headers['x-content-type-options'], 'nosniff', "helmet's headers");
      // Built once: the same bytes and ETag every time, and a conditional GET is a 304.
      const again = await request(app).get(WELL_KNOWN).expect(200);
      assert.equal(again.text, res.text);
      await request(app).get(WELL_KNOWN).set('If-None-Match', String(res.headers.etag)).expect(304);
      await request(app).head(WELL_KNOWN).expect(200);
    });

    it('omits the optional members that are empty', async function () {
      const { app } = await createServer({
        jwtTokenConfiguration: { jwtissuer: 'open-metadata.org' },
        authenticationConfiguration: { publicKeyUrls: [] },
      });
      const res = await request(app).get(WELL_KNOWN).expect(200);
      assert.deepEqual(res.body, {
        resource: RESOURCE,
        bearer_methods_supported: ['header'],
        ...DPOP_MEMBERS,
      });
      // Without keys there are no bots: their default scopes are not advertised.
      const keyless = await createServer(
        { botConfiguration: { defaultBotScopes: ['x:y'] } },
        { keySet: undefined },
      );
      assert.deepEqual((await request(keyless.app).get(WELL_KNOWN).expect(200)).body, {
        resource: RESOURCE,
        authorization_servers: ['https://sso.example.com'],
        bearer_methods_supported: ['header'],
        ...DPOP_MEMBERS,
      });
    });

    it('names as authorization servers the issuers of plain, Google and explicit sources, and our https jwtissuer', async function () {
      const plain = await createServer({
        authenticationConfiguration: { publicKeyUrls: ['https://sso.example.com/jwks'] },
      });
      assert.deepEqual((await request(plain.app).get(WELL_KNOWN)).body.authorization_servers, [
        ISSUER,
        'https://sso.example.com',
      ]);

      const google = await createServer({
        jwtTokenConfiguration: { jwtissuer: 'open-metadata.org' },
        authenticationConfiguration: { publicKeyUrls: [GOOGLE_CERTS_URL] },
      });
      // Google's issuers are `https://accounts.google.com` and `accounts.google.com`: only the URL counts.
      assert.deepEqual((await request(google.app).get(WELL_KNOWN)).body.authorization_servers, [
        'https://accounts.google.com',
      ]);

      const explicit = await createServer({
        jwtTokenConfiguration: { jwtissuer: 'http://localhost:8585' },
        authenticationConfiguration: {
          publicKeyUrls: [
            { url: 'https://okta.example.com/keys', issuer: 'https://okta.example.com', audience: 'api' },
            {
              url: 'https://login.example.net/keys',
              issuer: ['https://login.example.net/v2', 'login-v1', 'urn:example:idp'],
              audience: ['api'],
            },
            { url: 'http://127.0.0.1:9090/jwks', issuer: 'http://127.0.0.1:9090', audience: 'api' },
          ],
        },
      });
      // Our own issuer over plain http is not named; a local SSO's http issuer is.
      assert.deepEqual((await request(explicit.app).get(WELL_KNOWN)).body.authorization_servers, [
        'https://okta.example.com',
        'https://login.example.net/v2',
        'http://127.0.0.1:9090',
      ]);
    });

    it('is served at the path-suffixed form of a resource with a path, from the host root whatever the basePath', async function () {
      assert.equal(
        protectedResourceMetadataUrl('https://api.example.com/api').href,
        'https://api.example.com/.well-known/oauth-protected-resource/api',
      );
      assert.equal(
        protectedResourceMetadataUrl('https://api.example.com:8443/a/b').href,
        'https://api.example.com:8443/.well-known/oauth-protected-resource/a/b',
      );
      assert.equal(
        protectedResourceMetadataUrl('http://localhost:8585').href,
        `http://localhost:8585${WELL_KNOWN}`,
      );

      const { app } = await createServer(
        { protectedResourceConfiguration: { resource: 'https://api.example.com/api' } },
        { basePath: '/api' },
      );
      const suffixed = await request(app).get(`${WELL_KNOWN}/api`).expect(200);
      assert.equal(suffixed.body.resource, 'https://api.example.com/api');
      // The bare path answers too (clients that look at the host root first), with the same document.
      assert.deepEqual((await request(app).get(WELL_KNOWN).expect(200)).body, suffixed.body);
      // basePath moves the JWKS, never the well-known paths.
      await request(app).get('/api/api/v1/config/jwks').expect(200);
      await request(app).get(`/api${WELL_KNOWN}/api`).expect(401);
      await request(app).get(`/api${WELL_KNOWN}`).expect(401);
      const challenge = String(
        (await request(app).get('/api/v1/tables').expect(401)).headers['www-authenticate'],
      );
      assert.equal(
        challenge,
        'Bearer realm="jwt-gate", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/api", ' +
          dpopChallenge('https://api.example.com/.well-known/oauth-protected-resource/api'),
      );
    });

    it('is served by gate.publicRouter mounted at the root, never under a prefix', async function () {
      const { gate } = await createServer();
      const app = express();
      app.use(gate.publicRouter);
      app.use('/api', gate.publicRouter);
      const sub = express();
      sub.use(gate.publicRouter);
      app.use('/sub', sub);
      app.use((_req, res) => {
        res.status(404).json({ code: 404 });
      });
      app.use(gate.errorHandler);
      assert.equal((await request(app).get(WELL_KNOWN).expect(200)).body.resource, RESOURCE);
      await request(app).get(`/api${WELL_KNOWN}`).expect(404);
      await request(app).get(`/sub${WELL_KNOWN}`).expect(404);
      await request(app).get('/sub/api/v1/config/jwks').expect(200);
      await request(app).post(WELL_KNOWN).expect(405);

      const own = express();
      own.use(
        createProtectedResourceRouter({
          resource: RESOURCE,
          authorizationServers: ['https://sso.example.com'],
        }),
      );
      assert.deepEqual((await request(own).get(WELL_KNOWN).expect(200)).body, {
        resource: RESOURCE,
        authorization_servers: ['https://sso.example.com'],
        bearer_methods_supported: ['header'],
      });
    });
  });

  describe('the public path is exact', function () {
    const NOT_PUBLIC = [
      `${WELL_KNOWN}/`,
      `${WELL_KNOWN}x`,
      `${WELL_KNOWN}/api`,
      `${WELL_KNOWN};x`,
      `${WELL_KNOWN}%2f`,
      `${WELL_KNOWN}/..`,
      `${WELL_KNOWN}/.`,
      `${WELL_KNOWN}\\`,
      '/.well-known/oauth-protected-resourc%65',
      '/.well-known%2foauth-protected-resource',
      '/.well-known/./oauth-protected-resource',
      '/x/../.well-known/oauth-protected-resource',
      '//.well-known/oauth-protected-resource',
      '/.WELL-KNOWN/oauth-protected-resource',
      '/.well-known/OAuth-Protected-Resource',
      '/.well-known/oauth-authorization-server',
      '/.well-known',
      '/api/.well-known/oauth-protected-resource',
      '/api/v1/tables?x=/.well-known/oauth-protected-resource',
    ];

    it('requires a token for prefixed, suffixed, encoded, dotted and re-cased variants', async function () {
      const { app } = await createServer();
      assert.equal((await rawGet(app, WELL_KNOWN)).status, 200);
      assert.equal((await rawGet(app, `${WELL_KNOWN}?x=1`)).status, 200);
      for (const target of NOT_PUBLIC) {
        const res = await rawGet(app, target);
        assert.notEqual(res.status, 200, target);
        assert.ok(!res.body.includes('bearer_methods_supported'), target);
      }
    });

    it('requires a token for every method but GET and HEAD', async function () {
      const { app } = await createServer();
      for (const method of ['post', 'put', 'delete', 'patch'] as const) {
        await request(app)[method](WELL_KNOWN).expect(401);
      }
    });
  });

  describe('challenges name the metadata URL', function () {
    for (const engine of ['direct', 'passport'] as const) {
      it(`carries resource_metadata in every 401, with and without an error (engine: ${engine})`, async function () {
        const { app, gate } = await createServer({ verificationConfiguration: { engine } });

        const missing = await request(app).get('/api/v1/tables').expect(401);
        assert.equal(
          missing.headers['www-authenticate'],
          `Bearer realm="jwt-gate", resource_metadata="${METADATA_URL}", ${dpopChallenge(METADATA_URL)}`,
        );
        assert.equal(missing.body.errorCode, 'ERR_TOKEN_MISSING');

        const good = gate.mintToken(ALICE).token;
        const [header, payload, signature] = good.split('.') as [string, string, string];
        const tampered = `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
        const foreign = signJwt({ payload: { iss: 'https://elsewhere.example', aud: 'api', sub: 'x' } });
        for (const token of [tampered, foreign, 'not-a-jwt']) {
          const res = await request(app).get('/api/v1/tables').auth(token, { type: 'bearer' }).expect(401);
          const challenge = String(res.headers['www-authenticate']);
          assert.match(
            challenge,
            new RegExp(
              `^Bearer realm="jwt-gate", error="invalid_token", error_description="[^"]+", resource_metadata="${METADATA_URL.replace(/[./]/g, '\\$&')}"$`,
            ),
          );
          assert.ok(!challenge.includes(token) && !res.text.includes(token), 'the token is never echoed');
        }

        // A malformed request (RFC 6750 §3.1 invalid_request) names it too.
        const twice = await request(app).get('/api/v1/tables?access_token=x').auth('abc', { type: 'bearer' });
        assert.equal(twice.status, 400);
        assert.match(String(twice.headers['www-authenticate']), /, resource_metadata="[^"]+"$/);
      });
    }

    it('carries it in a guard 403 and in a guard 401 rendered by gate.errorHandler', async function () {
      const { app, gate } = await createServer();
      const alice = gate.mintToken(ALICE).token;
      await request(app).get('/api/v1/tables').auth(alice, { type: 'bearer' }).expect(200);
      const denied = await request(app)
        .post('/api/v1/admin-only')
        .auth(alice, { type: 'bearer' })
        .expect(403);
      assert.match(
        String(denied.headers['www-authenticate']),
        /^Bearer realm="jwt-gate", error="insufficient_scope", /,
      );
      assert.match(
        String(denied.headers['www-authenticate']),
        new RegExp(`, resource_metadata="${METADATA_URL}"$`),
      );

      const unguarded = express();
      unguarded.post('/admin', gate.requireAdmin, (_req, res) => {
        res.json({ ok: true });
      });
      unguarded.use(gate.errorHandler);
      const res = await request(unguarded).post('/admin').expect(401);
      assert.equal(
        res.headers['www-authenticate'],
        `Bearer realm="jwt-gate", resource_metadata="${METADATA_URL}"`,
      );
    });

    it('serves nothing and names nothing without a configured resource, whatever the Host', async function () {
      const { app } = await createServer({ protectedResourceConfiguration: { resource: '' } });
      const res = await request(app).get(WELL_KNOWN).set('Host', 'attacker.example').expect(401);
      assert.equal(res.headers['www-authenticate'], `Bearer realm="jwt-gate", ${dpopChallenge()}`);
      const missing = await request(app).get('/api/v1/tables').set('X-Forwarded-Host', 'attacker.example');
      assert.equal(missing.headers['www-authenticate'], `Bearer realm="jwt-gate", ${dpopChallenge()}`);
    });
  });

  describe('configuration', function () {
    it('accepts canonical https identifiers, and http to loopback only', function () {
      for (const resource of [
        '',
        'https://api.example.com',
        'https://api.example.com/api',
        'https://api.example.com:8443/a/b-c_d.e~f',
        'http://localhost:8585',
        'http://127.0.0.1:8585/api',
        'http://[::1]:8585',
      ]) {
        assert.equal(
          resolveOptions({ protectedResourceConfiguration: { resource } }).protectedResourceConfiguration
            .resource,
          resource,
        );
      }
    });

    it('refuses other identifiers, naming the field and the fix', function () {
      const cases: Array<[string, RegExp]> = [
        ['api.example.com', /must be an absolute https URL/],
        ['ftp://api.example.com', /must be an https URL/],
        ['http://api.example.com', /plain http to api\.example\.com.*use https/],
        ['https://user:secret@api.example.com', /must not contain a user name or password/],
        ['https://api.example.com?tenant=1', /must not have a query/],
        ['https://api.example.com/api?', /must not have a query/],
        ['https://api.example.com#top', /must not have a fragment/],
        ['https://api.example.com/', /must be written canonically as https:\/\/api\.example\.com,/],
        ['https://API.example.com', /must be written canonically as https:\/\/api\.example\.com,/],
        ['https://api.example.com:443/api', /canonically as https:\/\/api\.example\.com\/api,/],
        ['https://api.example.com/api/', /must have a plain path/],
        ['https://api.example.com/a%20b', /must have a plain path/],
        ['https://api.example.com/a;b', /must have a plain path/],
        ['https://api.example.com/a/../b', /canonically as https:\/\/api\.example\.com\/b,/],
      ];
      for (const [resource, reason] of cases) {
        assertConfigRefused(
          { protectedResourceConfiguration: { resource } },
          /protectedResourceConfiguration\.resource /,
          reason,
        );
      }
      assertConfigRefused(
        { protectedResourceConfiguration: { scopesSupported: ['tables:read', 'two words'] } },
        /protectedResourceConfiguration\.scopesSupported\[1\] "two words" holds a space/,
      );
      assertConfigRefused(
        { protectedResourceConfiguration: { resourse: RESOURCE } as never },
        /resourse/,
        /resource/,
      );
    });

    it('reads the block from YAML with ${VAR:-default}, naming the environment variable on a problem', function () {
      const yaml = [
        'protectedResourceConfiguration:',
        '  resource: ${JWT_GATE_RESOURCE:-""}',
        '  resourceName: ${JWT_GATE_RESOURCE_NAME:-""}',
        '  scopesSupported: ${JWT_GATE_SCOPES_SUPPORTED:-[]}',
        '',
      ].join('\n');
      assert.deepEqual(loadConfig({ text: yaml, env: {} }).protectedResourceConfiguration, {
        resource: '',
        resourceName: '',
        scopesSupported: [],
      });
      const set = loadConfig({
        text: yaml,
        env: {
          JWT_GATE_RESOURCE: 'https://api.example.com',
          JWT_GATE_RESOURCE_NAME: 'Catalog',
          JWT_GATE_SCOPES_SUPPORTED: '[tables:read,tables:write]',
        },
      });
      assert.deepEqual(set.protectedResourceConfiguration, {
        resource: 'https://api.example.com',
        resourceName: 'Catalog',
        scopesSupported: ['tables:read', 'tables:write'],
      });
      assert.throws(
        () => loadConfig({ text: yaml, env: { JWT_GATE_RESOURCE: 'http://api.example.com' } }),
        /protectedResourceConfiguration\.resource \(from environment variable JWT_GATE_RESOURCE\) uses plain http/,
      );
      // Absent from the file: the environment variable still applies, as for every other block.
      assert.equal(
        loadConfig({ text: '', env: { JWT_GATE_RESOURCE: 'https://api.example.com' } })
          .protectedResourceConfiguration.resource,
        'https://api.example.com',
      );
    });
  });

  describe('the example configuration', function () {
    it('names the example app by default, following SERVER_PORT, and keeps the pipeline service off JWT_GATE_RESOURCE', function () {
      const resourceOf = (file: string, env: NodeJS.ProcessEnv): string =>
        loadConfig({ path: file, env }).protectedResourceConfiguration.resource;
      assert.equal(resourceOf(DEFAULT_CONFIG_PATH, {}), 'http://localhost:8585');
      assert.equal(resourceOf(DEFAULT_CONFIG_PATH, { SERVER_PORT: '9000' }), 'http://localhost:9000');
      assert.equal(
        resourceOf(DEFAULT_CONFIG_PATH, { JWT_GATE_RESOURCE: 'https://catalog.example.com' }),
        'https://catalog.example.com',
      );
      const env = { JWT_GATE_RESOURCE: 'https://catalog.example.com' };
      assert.equal(resourceOf(PIPELINE_SERVICE_CONFIG_PATH, env), '');
      assert.equal(
        resourceOf(PIPELINE_SERVICE_CONFIG_PATH, {
          ...env,
          PIPELINE_SERVICE_RESOURCE: 'https://pipelines.example.com',
        }),
        'https://pipelines.example.com',
      );
    });
  });

  describe('the example app', function () {
    this.timeout(20_000);
    let dir: string;
    let app: RunningExample;

    before(async function () {
      dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-prm-'));
      const keys = path.join(dir, 'keys');
      app = await startExample({
        port: 0,
        ssoPort: 0,
        databaseUrl: 'memory:',
        env: {
          RSA_PRIVATE_KEY_FILE_PATH: path.join(keys, 'private_key.der'),
          RSA_PUBLIC_KEY_FILE_PATH: path.join(keys, 'public_key.der'),
        },
      });
    });

    after(async function () {
      await app?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves its metadata, naming the dev SSO, and names it in its 401 challenges', async function () {
      const res = await request(app.url).get(WELL_KNOWN).expect(200);
      // The SSO's defaultScopes and the default bots' scopes, as the example configures them.
      const { authenticationConfiguration: auth, botConfiguration: bots } = app.config;
      const scopes = [...new Set([...auth.defaultScopes, ...bots.defaultBotScopes])].sort();
      assert.deepEqual(res.body, {
        resource: 'http://localhost:8585',
        authorization_servers: [app.ssoIssuer],
        ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
        bearer_methods_supported: ['header'],
        resource_name: 'jwt-gate example API',
        ...DPOP_MEMBERS,
      });
      const denied = await request(app.url).get('/api/v1/tables').expect(401);
      assert.equal(
        denied.headers['www-authenticate'],
        'Bearer realm="jwt-gate", resource_metadata="http://localhost:8585/.well-known/oauth-protected-resource", ' +
          dpopChallenge('http://localhost:8585/.well-known/oauth-protected-resource'),
      );
    });
  });
});
