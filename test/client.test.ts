import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  createIngestionClient,
  createPipelineServiceClient,
  IngestionAuthError,
  IngestionRequestError,
  loadWorkflowConfig,
  PipelineServiceError,
} from '../lib/client/index.js';
import { runIngestion } from '../example-app/run-ingestion.js';
import { loadConfig } from '../lib/config/load-config.js';
import type { AirflowConfiguration, ResolvedConfig } from '../lib/config/types.js';
import { ConfigError } from '../lib/errors.js';

/** A compact JWS-shaped token; the test server only compares it with its accepted set. */
function fakeJwt(sub = 'ingestion-bot'): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${part({ sub, jti: randomBytes(8).toString('hex') })}.${randomBytes(32).toString('base64url')}`;
}

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** A plain API server on 127.0.0.1: 401 unless the bearer token is in `accepted`; records every request. */
class ApiServer {
  readonly accepted = new Set<string>();
  readonly received: Received[] = [];
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const authorization = req.headers.authorization;
    this.received.push({
      method: req.method!,
      url: req.url!,
      authorization,
      body: text === '' ? undefined : JSON.parse(text),
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
    if (!this.accepted.has(token)) {
      // Echoes the token on purpose: the client must mask it.
      send(
        401,
        { code: 401, message: `Not Authorized! Token has been revoked: ${token}` },
        {
          'WWW-Authenticate':
            'Bearer realm="jwt-gate", error="invalid_token", error_description="Token has been revoked"',
        },
      );
    } else if (req.url!.endsWith('/broken')) send(500, { code: 500, message: 'database is down' });
    else if (req.url!.endsWith('/moved')) send(302, {}, { Location: `${this.url}/api/elsewhere` });
    else if (req.url!.endsWith('/slow'))
      return; // never answers
    else
      send(req.method === 'POST' ? 201 : 200, {
        method: req.method,
        path: req.url,
        echo: text === '' ? null : JSON.parse(text),
      });
  }
}

const JWT_PATH = 'workflowConfig.openMetadataServerConfig.securityConfig.jwtToken';

/** Hosts that plain http must not reach without `allowInsecureHttp`; no test sends anything there. */
const REMOTE_HTTP_URLS = [
  'http://ingest.example.com/api',
  'http://10.0.0.5/api',
  'http://[::ffff:a00:5]/api',
];

/**
 * A matcher for the refusal of plain http: a ConfigError naming `field` and `option`, saying the
 * bot token would be exposed and how to fix it.
 */
function plainHttpRefusal(field: RegExp, option: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_CONFIG_INVALID');
    assert.match(error.message, field);
    assert.match(error.message, /uses plain http to \S+.*plain http would expose the bot token/);
    assert.match(error.message, new RegExp(`Use https, or set ${option.replaceAll('.', '\\.')}: true`));
    assert.match(error.message, /is trusted/);
    return true;
  };
}

function workflowYaml(
  jwtToken: string,
  extra: { hostPort?: string; authProvider?: string; allowInsecureHttp?: string } = {},
): string {
  return [
    'source:',
    '  type: postgres',
    '  serviceConnection:',
    '    config:',
    '      password: ${UNSET_SOURCE_PASSWORD}',
    'workflowConfig:',
    '  openMetadataServerConfig:',
    `    hostPort: ${extra.hostPort ?? 'http://localhost:8585/api/'}`,
    ...(extra.allowInsecureHttp === undefined ? [] : [`    allowInsecureHttp: ${extra.allowInsecureHttp}`]),
    `    authProvider: ${extra.authProvider ?? 'openmetadata'}`,
    '    securityConfig:',
    `      jwtToken: ${jwtToken}`,
  ].join('\n');
}

describe('lib/client', () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-client-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('loadWorkflowConfig', () => {
    it('reads an inline token and normalises hostPort; other blocks (source) are ignored', () => {
      const token = fakeJwt();
      const config = loadWorkflowConfig(write('w.yaml', workflowYaml(token)), {});
      assert.equal(config.hostPort, 'http://localhost:8585/api');
      assert.equal(config.authProvider, 'openmetadata');
      assert.equal(config.jwtToken, token);
      assert.equal(config.tokenFile, undefined);
    });

    it('reads a token file relative to the workflow file, even one named like a.b.c, and expands ~', () => {
      const token = fakeJwt();
      write('ingestion-bot.token.txt', `${token}\n`);
      const config = loadWorkflowConfig(write('w.yaml', workflowYaml('ingestion-bot.token.txt')), {});
      assert.equal(config.jwtToken, token);
      assert.equal(config.tokenFile, join(dir, 'ingestion-bot.token.txt'));

      const home = process.env.HOME;
      process.env.HOME = dir;
      try {
        assert.equal(
          loadWorkflowConfig(write('h.yaml', workflowYaml('~/ingestion-bot.token.txt')), {}).jwtToken,
          token,
        );
      } finally {
        process.env.HOME = home;
      }
    });

    it('substitutes ${VAR} and ${VAR:-default}', () => {
      const token = fakeJwt();
      const file = write(
        'w.yaml',
        workflowYaml('${OM_JWT_TOKEN}', { hostPort: '${OM_HOST_PORT:-http://localhost:8585/api}' }),
      );
      assert.equal(loadWorkflowConfig(file, { OM_JWT_TOKEN: token }).hostPort, 'http://localhost:8585/api');
      const config = loadWorkflowConfig(file, {
        OM_JWT_TOKEN: token,
        OM_HOST_PORT: 'https://om.example.com/api',
      });
      assert.equal(config.hostPort, 'https://om.example.com/api');
      assert.equal(config.jwtToken, token);
      assert.match(config.tokenSetting, /from environment variable OM_JWT_TOKEN/);
    });

    it('parses the example workflow (token from OM_JWT_TOKEN, or ./ingestion-bot.token by default)', () => {
      const example = 'example-app/ingestion/workflow.yaml';
      const token = fakeJwt();
      assert.equal(loadWorkflowConfig(example, { OM_JWT_TOKEN: token }).jwtToken, token);
      assert.throws(
        () => loadWorkflowConfig(example, {}),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /ingestion-bot\.token does not exist/);
          return true;
        },
      );
    });

    it('refuses each bad value with a message naming the YAML path, never the token', () => {
      const token = fakeJwt();
      write('empty.token', '\n');
      write('garbage.token', 'not a token at all');
      const damaged = token.split('.').slice(0, 2).join('.');
      const cases: Array<[string, RegExp]> = [
        [
          workflowYaml(token, { hostPort: 'ftp://localhost/api' }),
          /openMetadataServerConfig\.hostPort must be an absolute http\(s\) URL/,
        ],
        [
          workflowYaml(token, { hostPort: 'localhost:8585' }),
          /hostPort must be an absolute http\(s\) URL .*got "localhost:8585"/,
        ],
        [
          workflowYaml(token, { authProvider: 'google' }),
          /authProvider must be one of: openmetadata .*got "google"/,
        ],
        [workflowYaml('""'), new RegExp(`${JWT_PATH.replaceAll('.', '\\.')} is missing: generate a token`)],
        [workflowYaml('./missing.token'), /missing\.token does not exist .*Settings → Bots/],
        [workflowYaml('empty.token'), /empty\.token is empty/],
        [workflowYaml('garbage.token'), /garbage\.token does not hold a JWT/],
        [workflowYaml(damaged), /neither a complete JWT nor a file path \(value not shown/],
        [
          workflowYaml('${OM_JWT_TOKEN}'),
          /jwtToken uses \$\{OM_JWT_TOKEN\}, but environment variable OM_JWT_TOKEN is not set/,
        ],
        ['source: {}\n', /workflowConfig\.openMetadataServerConfig is missing/],
      ];
      for (const [yaml, expected] of cases) {
        const file = write('bad.yaml', yaml);
        assert.throws(
          () => loadWorkflowConfig(file, {}),
          (error: Error) => {
            assert.ok(error instanceof ConfigError, `${yaml}: ${String(error)}`);
            assert.match(error.message, expected);
            assert.match(error.message, /bad\.yaml/);
            assert.ok(!error.message.includes(token.split('.')[1]!), 'the token must not appear');
            return true;
          },
        );
      }
    });

    it('refuses plain http to a non-loopback hostPort before reading the token, naming the field and the fix', async () => {
      const option = 'workflowConfig.openMetadataServerConfig.allowInsecureHttp';
      const field =
        /workflowConfig\.openMetadataServerConfig\.hostPort \(from environment variable OM_HOST_PORT\) uses plain http/;
      // The token file does not exist: the refusal comes first, so the token is never even read.
      const file = write('w.yaml', workflowYaml('./missing.token', { hostPort: '${OM_HOST_PORT}' }));
      for (const url of REMOTE_HTTP_URLS) {
        assert.throws(() => loadWorkflowConfig(file, { OM_HOST_PORT: url }), plainHttpRefusal(field, option));
      }
      assert.throws(
        () => loadWorkflowConfig(file, { OM_HOST_PORT: 'http://ingest.example.com:8585/api' }),
        /uses plain http to ingest\.example\.com, got "http:\/\/ingest\.example\.com:8585\/api"/,
      );
      await assert.rejects(
        runIngestion(file, undefined, { env: { OM_HOST_PORT: 'http://10.0.0.5/api' } }),
        plainHttpRefusal(field, option),
      );
    });

    it('accepts allowInsecureHttp: true (or "true" from ${VAR}) beside hostPort, and refuses a value that is not a flag', () => {
      const token = fakeJwt();
      for (const allowInsecureHttp of ['true', '"true"', '${OM_ALLOW_INSECURE_HTTP:-false}']) {
        const file = write(
          'w.yaml',
          workflowYaml(token, { hostPort: 'http://10.0.0.5/api/', allowInsecureHttp }),
        );
        const config = loadWorkflowConfig(file, { OM_ALLOW_INSECURE_HTTP: 'true' });
        assert.equal(config.hostPort, 'http://10.0.0.5/api');
        assert.equal(config.allowInsecureHttp, true);
      }
      const unset = write(
        'unset.yaml',
        workflowYaml(token, {
          hostPort: 'http://10.0.0.5/api',
          allowInsecureHttp: '${OM_ALLOW_INSECURE_HTTP:-false}',
        }),
      );
      assert.throws(
        () => loadWorkflowConfig(unset, {}),
        plainHttpRefusal(
          /hostPort uses plain http to 10\.0\.0\.5/,
          'workflowConfig.openMetadataServerConfig.allowInsecureHttp',
        ),
      );
      const loopback = loadWorkflowConfig(
        write('ok.yaml', workflowYaml(token, { allowInsecureHttp: 'false' })),
        {},
      );
      assert.equal(loopback.allowInsecureHttp, undefined);
      for (const bad of ['yes', '1', '[true]']) {
        assert.throws(
          () => loadWorkflowConfig(write('bad.yaml', workflowYaml(token, { allowInsecureHttp: bad })), {}),
          (error: Error) =>
            error instanceof ConfigError &&
            /openMetadataServerConfig\.allowInsecureHttp must be true or false .*got /.test(error.message),
        );
      }
    });

    it('accepts https to any host, and plain http to localhost, 127.0.0.0/8 and [::1] — not *.localhost', () => {
      const token = fakeJwt();
      const file = write('w.yaml', workflowYaml(token, { hostPort: '${OM_HOST_PORT}' }));
      for (const url of [
        'https://ingest.example.com/api',
        'https://10.0.0.5:8443/api',
        'http://localhost:8585/api',
        'http://LOCALHOST/api',
        'http://127.0.0.1:8585/api',
        'http://127.1.2.3/api',
        'http://[::1]:8585/api',
      ]) {
        assert.equal(loadWorkflowConfig(file, { OM_HOST_PORT: url }).allowInsecureHttp, undefined, url);
      }
      // A name the resolver may send to DNS is not loopback.
      assert.throws(
        () => loadWorkflowConfig(file, { OM_HOST_PORT: 'http://om.localhost:8585/api' }),
        /plain http/,
      );
    });
  });

  describe('createIngestionClient', () => {
    const api = new ApiServer();
    before(() => api.start());
    after(() => api.stop());
    beforeEach(() => {
      api.accepted.clear();
      api.received.length = 0;
    });
    const client = (jwtToken: string, tokenFile?: string, timeoutMs?: number) =>
      createIngestionClient(
        { hostPort: `${api.url}/api/`, jwtToken, ...(tokenFile ? { tokenFile } : {}) },
        { timeoutMs },
      );

    it('sends the bearer token and JSON to hostPort + path, with each verb', async () => {
      const token = fakeJwt();
      api.accepted.add(token);
      const c = client(token);
      assert.deepEqual(await c.post('/v1/tables', { name: 'orders' }), {
        status: 201,
        body: { method: 'POST', path: '/api/v1/tables', echo: { name: 'orders' } },
      });
      assert.equal((await c.get('/v1/tables')).status, 200);
      assert.equal((await c.put('v1/tables/orders', { a: 1 })).status, 200);
      assert.equal((await c.delete('/v1/tables/orders')).status, 200);
      assert.deepEqual(
        api.received.map((r) => `${r.method} ${r.url} ${r.authorization === `Bearer ${token}`}`),
        [
          'POST /api/v1/tables true',
          'GET /api/v1/tables true',
          'PUT /api/v1/tables/orders true',
          'DELETE /api/v1/tables/orders true',
        ],
      );
    });

    it('on 401, re-reads a rewritten token file once, retries, and keeps the new token', async () => {
      const [oldToken, newToken] = [fakeJwt(), fakeJwt()];
      const file = write('bot.token', oldToken);
      api.accepted.add(oldToken);
      const c = createIngestionClient(
        loadWorkflowConfig(write('w.yaml', workflowYaml('bot.token', { hostPort: `${api.url}/api` })), {}),
      );
      await c.get('/v1/tables');
      // The admin regenerates the bot's token: the old one stops working, the file gets the new one.
      api.accepted.delete(oldToken);
      api.accepted.add(newToken);
      writeFileSync(file, `${newToken}\n`);
      api.received.length = 0;
      assert.equal((await c.get('/v1/tables')).status, 200);
      assert.deepEqual(
        api.received.map((r) => r.authorization),
        [`Bearer ${oldToken}`, `Bearer ${newToken}`],
      );
      await c.get('/v1/tables');
      assert.equal(api.received.length, 3, 'later requests use the new token directly');
    });

    it('with an unchanged token file, fails with IngestionAuthError without resending the same token', async () => {
      const token = fakeJwt();
      const file = write('bot.token', token);
      await assert.rejects(client(token, file).get('/v1/tables'), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.equal(error.code, 'ERR_CLIENT_UNAUTHORIZED');
        assert.equal(error.status, 401);
        assert.match(error.message, /401 Unauthorized: "Not Authorized! Token has been revoked: \[token\]"/);
        assert.match(
          error.message,
          /gave the same token.*Generate a new token in Settings → Bots and update .*bot\.token/,
        );
        assert.ok(!error.message.includes(token), 'the token must not appear');
        return true;
      });
      assert.equal(api.received.length, 1);
    });

    it('with a token file rewritten to another refused token, fails after exactly 2 requests', async () => {
      const token = fakeJwt();
      const file = write('bot.token', token);
      const c = client(token, file);
      writeFileSync(file, fakeJwt());
      await assert.rejects(c.get('/v1/tables'), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.match(error.message, /re-read from .*bot\.token was refused too/);
        return true;
      });
      assert.equal(api.received.length, 2);
    });

    it('with an inline token, fails after 1 request, naming the YAML path to update', async () => {
      const token = fakeJwt();
      const c = createIngestionClient(
        loadWorkflowConfig(write('w.yaml', workflowYaml(token, { hostPort: api.url })), {}),
      );
      await assert.rejects(c.post('/v1/tables', {}), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.match(error.message, new RegExp(`update ${JWT_PATH.replaceAll('.', '\\.')} in .*w\\.yaml`));
        assert.ok(!error.message.includes(token));
        return true;
      });
      assert.equal(api.received.length, 1);
    });

    it('maps other failures to IngestionRequestError: 5xx, redirects (not followed), timeouts, no server', async () => {
      const token = fakeJwt();
      api.accepted.add(token);
      const c = client(token, undefined, 200);
      await assert.rejects(
        c.get('/broken'),
        (e: Error) =>
          e instanceof IngestionRequestError &&
          e.status === 500 &&
          /failed with 500: "database is down"/.test(e.message),
      );
      await assert.rejects(
        c.get('/moved'),
        (e: Error) => e instanceof IngestionRequestError && e.status === 302 && /redirect/.test(e.message),
      );
      assert.equal(
        api.received.filter((r) => r.url === '/api/elsewhere').length,
        0,
        'the redirect was not followed',
      );
      await assert.rejects(
        c.get('/slow'),
        (e: Error) =>
          e instanceof IngestionRequestError &&
          e.status === undefined &&
          /no answer within 0.2 s/.test(e.message),
      );
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const down = createIngestionClient({ hostPort: `http://127.0.0.1:${closedPort}/api`, jwtToken: token });
      await assert.rejects(
        down.get('/v1/tables'),
        (e: Error) => e instanceof IngestionRequestError && /ECONNREFUSED/.test(e.message),
      );
    });

    it('refuses a hostPort or token that cannot work, at creation', () => {
      assert.throws(
        () => createIngestionClient({ hostPort: 'localhost:8585', jwtToken: fakeJwt() }),
        ConfigError,
      );
      assert.throws(() => createIngestionClient({ hostPort: api.url, jwtToken: 'secret' }), /is not a JWT/);
    });

    it('refuses plain http to a non-loopback hostPort at creation unless allowInsecureHttp: true; accepts https', () => {
      const jwtToken = fakeJwt();
      for (const hostPort of REMOTE_HTTP_URLS) {
        assert.throws(
          () => createIngestionClient({ hostPort, jwtToken }),
          plainHttpRefusal(/^hostPort uses plain http/, 'allowInsecureHttp'),
        );
        assert.throws(
          () => createIngestionClient({ hostPort, jwtToken, allowInsecureHttp: false }),
          plainHttpRefusal(/^hostPort uses plain http/, 'allowInsecureHttp'),
        );
        // Accepted at creation; nothing is sent (no request is made in this test).
        assert.equal(
          createIngestionClient({ hostPort, jwtToken, allowInsecureHttp: true }).hostPort,
          hostPort,
        );
      }
      assert.equal(
        createIngestionClient({ hostPort: 'https://ingest.example.com/api/', jwtToken }).hostPort,
        'https://ingest.example.com/api',
      );
      assert.throws(
        () =>
          createIngestionClient({
            hostPort: 'http://10.0.0.5/api',
            jwtToken,
            allowInsecureHttp: 'true' as unknown as boolean,
          }),
        (error: Error) =>
          error instanceof ConfigError &&
          /^allowInsecureHttp must be true or false, got "true"/.test(error.message),
      );
    });

    it('works end to end over plain http to 127.0.0.1 and localhost, without allowInsecureHttp', async () => {
      const token = fakeJwt();
      api.accepted.add(token);
      const localhostUrl = api.url.replace('127.0.0.1', 'localhost');
      assert.match(localhostUrl, /^http:\/\/localhost:\d+$/);
      for (const base of [api.url, localhostUrl]) {
        const response = await createIngestionClient({ hostPort: `${base}/api`, jwtToken: token }).get(
          '/v1/tables',
        );
        assert.equal(response.status, 200);
      }
      const workflow = write('w.yaml', workflowYaml(token, { hostPort: `${localhostUrl}/api` }));
      assert.deepEqual(await runIngestion(workflow, undefined, { env: {} }), { created: 2, lineageEdges: 1 });
      assert.equal(api.received.length, 5);
      assert.ok(api.received.every((r) => r.authorization === `Bearer ${token}`));
    });

    it('runIngestion posts the sample tables and their lineage with the workflow token', async () => {
      const token = fakeJwt();
      api.accepted.add(token);
      write('bot.token', token);
      const workflow = write('w.yaml', workflowYaml('bot.token', { hostPort: '${OM_HOST_PORT}' }));
      assert.deepEqual(await runIngestion(workflow, undefined, { env: { OM_HOST_PORT: `${api.url}/api` } }), {
        created: 2,
        lineageEdges: 1,
      });
      assert.deepEqual(
        api.received.map((r) => [r.url, (r.body as { name?: string }).name ?? r.body]),
        [
          ['/api/v1/tables', 'raw_orders'],
          ['/api/v1/tables', 'daily_revenue'],
          ['/api/v1/lineage', { from: 'raw_orders', to: 'daily_revenue' }],
        ],
      );
    });
  });

  describe('createPipelineServiceClient', () => {
    const airflowService = new ApiServer();
    before(() => airflowService.start());
    after(() => airflowService.stop());
    beforeEach(() => {
      airflowService.accepted.clear();
      airflowService.received.length = 0;
    });
    const airflow = (jwtToken: string, authProvider = 'openmetadata'): AirflowConfiguration => ({
      apiEndpoint: `${airflowService.url}/`,
      metadataApiEndpoint: 'http://localhost:8585/api',
      authProvider,
      authConfig: { openmetadata: { jwtToken } },
    });

    it('calls deploy, trigger, status and health with the configured bot token', async () => {
      const token = fakeJwt();
      airflowService.accepted.add(token);
      const pipelines = createPipelineServiceClient(airflow(token));
      await pipelines.deployPipeline('sample data', { pipelineType: 'metadata' });
      await pipelines.triggerPipeline('sample data');
      await pipelines.pipelineStatus('sample data');
      assert.deepEqual(await pipelines.status(), {
        method: 'GET',
        path: '/api/v1/openmetadata/health',
        echo: null,
      });
      assert.deepEqual(
        airflowService.received.map((r) => [r.method, r.url, r.authorization === `Bearer ${token}`]),
        [
          ['POST', '/api/v1/openmetadata/deploy', true],
          ['POST', '/api/v1/openmetadata/trigger/sample%20data', true],
          ['GET', '/api/v1/openmetadata/status/sample%20data', true],
          ['GET', '/api/v1/openmetadata/health', true],
        ],
      );
      assert.deepEqual(airflowService.received[0]!.body, { pipelineType: 'metadata', name: 'sample data' });
    });

    it('maps a 401 to PipelineServiceError saying the bot token was rejected and how to fix it', async () => {
      const token = fakeJwt();
      await assert.rejects(
        createPipelineServiceClient(airflow(token)).triggerPipeline('p'),
        (error: Error) => {
          assert.ok(error instanceof PipelineServiceError);
          assert.equal(error.status, 401);
          assert.match(error.message, /rejected the bot token .*revoked, expired or not trusted/);
          assert.match(error.message, /Settings → Bots and set OM_AUTH_JWT_TOKEN/);
          assert.ok(!error.message.includes(token));
          return true;
        },
      );
    });

    it('refuses the placeholder or empty token and another authProvider, at creation', () => {
      const generate = /generate a token for ingestion-bot in Settings → Bots and set OM_AUTH_JWT_TOKEN/;
      assert.throws(
        () => createPipelineServiceClient(airflow('<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>')),
        (e: Error) =>
          e instanceof ConfigError &&
          /jwtToken is still the placeholder/.test(e.message) &&
          generate.test(e.message),
      );
      assert.throws(
        () => createPipelineServiceClient(airflow('')),
        (e: Error) => e instanceof ConfigError && generate.test(e.message),
      );
      assert.throws(
        () => createPipelineServiceClient(airflow(fakeJwt(), 'no-auth')),
        /authProvider must be openmetadata.*got "no-auth"/,
      );
    });

    it('refuses plain http to a non-loopback apiEndpoint at creation, naming the field, the env vars and the fix', () => {
      const token = fakeJwt();
      const loaded = (env: NodeJS.ProcessEnv, yaml = 'airflowConfiguration: {}\n'): ResolvedConfig =>
        loadConfig({ text: yaml, env: { OM_AUTH_JWT_TOKEN: token, ...env } });
      const refused = plainHttpRefusal(
        /^airflowConfiguration\.apiEndpoint \(from environment variable AIRFLOW_HOST\) uses plain http to 10\.0\.0\.5/,
        'airflowConfiguration.allowInsecureHttp',
      );
      const remote = loaded({ AIRFLOW_HOST: 'http://10.0.0.5:8080' });
      assert.equal(remote.airflowConfiguration.allowInsecureHttp, undefined);
      assert.throws(
        () => createPipelineServiceClient(remote.airflowConfiguration, { provenance: remote.provenance }),
        (error: unknown) =>
          refused(error) && /\(env AIRFLOW_ALLOW_INSECURE_HTTP=true\)/.test((error as Error).message),
      );
      // Refused even with a tokenProvider: the check does not depend on where the token comes from.
      assert.throws(
        () =>
          createPipelineServiceClient(
            { ...airflow(token), apiEndpoint: 'http://airflow.example.com:8080' },
            { tokenProvider: () => token },
          ),
        plainHttpRefusal(
          /^airflowConfiguration\.apiEndpoint uses plain http/,
          'airflowConfiguration.allowInsecureHttp',
        ),
      );

      // Accepted at creation (nothing is sent): the env var, the YAML key, the typed option; https.
      const byEnv = loaded({ AIRFLOW_HOST: 'http://10.0.0.5:8080', AIRFLOW_ALLOW_INSECURE_HTTP: 'true' });
      const byYaml = loaded(
        {},
        'airflowConfiguration:\n  apiEndpoint: http://10.0.0.5:8080/\n  allowInsecureHttp: true\n',
      );
      for (const config of [byEnv, byYaml]) {
        assert.equal(config.airflowConfiguration.allowInsecureHttp, true);
        assert.equal(
          createPipelineServiceClient(config.airflowConfiguration).apiEndpoint,
          'http://10.0.0.5:8080',
        );
      }
      const typed = { ...airflow(token), apiEndpoint: 'http://10.0.0.5:8080', allowInsecureHttp: true };
      assert.equal(createPipelineServiceClient(typed).apiEndpoint, 'http://10.0.0.5:8080');
      const https = { ...airflow(token), apiEndpoint: 'https://airflow.example.com/' };
      assert.equal(createPipelineServiceClient(https).apiEndpoint, 'https://airflow.example.com');
      // The default, http://localhost:8080, is loopback.
      assert.equal(
        createPipelineServiceClient(loaded({}).airflowConfiguration).apiEndpoint,
        'http://localhost:8080',
      );
      assert.throws(
        () => loaded({}, 'airflowConfiguration:\n  allowInsecureHttp: maybe\n'),
        (error: Error) =>
          error instanceof ConfigError &&
          /airflowConfiguration\.allowInsecureHttp must be true or false/.test(error.message),
      );
    });

    it('calls the pipeline service end to end over plain http to localhost, without allowInsecureHttp', async () => {
      const token = fakeJwt();
      airflowService.accepted.add(token);
      const apiEndpoint = airflowService.url.replace('127.0.0.1', 'localhost');
      assert.match(apiEndpoint, /^http:\/\/localhost:\d+$/);
      const pipelines = createPipelineServiceClient({ ...airflow(token), apiEndpoint });
      await pipelines.triggerPipeline('sample_data');
      assert.deepEqual(
        airflowService.received.map((r) => [r.url, r.authorization]),
        [['/api/v1/openmetadata/trigger/sample_data', `Bearer ${token}`]],
      );
    });

    it('asks tokenProvider for each request and says the minted token is not trusted on 401', async () => {
      const tokens = [fakeJwt(), fakeJwt()];
      airflowService.accepted.add(tokens[0]!);
      let calls = 0;
      const pipelines = createPipelineServiceClient(airflow('<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>'), {
        tokenProvider: () => tokens[calls++]!,
      });
      await pipelines.status();
      await assert.rejects(
        pipelines.status(),
        (e: Error) =>
          e instanceof PipelineServiceError && /trusts this server.*v1\/config\/jwks/.test(e.message),
      );
      assert.deepEqual(
        airflowService.received.map((r) => r.authorization),
        tokens.map((t) => `Bearer ${t}`),
      );
    });
  });
});
