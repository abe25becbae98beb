/**
 * The main app calling its pipeline service (the reference's Airflow APIs) with a bot token, the
 * pipeline service running as a separate process that trusts the main app's JWKS over HTTP and
 * shares its SQLite bot store. Between them a small counting relay stands in for the network, so
 * the test can count the pipeline service's JWKS fetches independently of what it reports.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { PIPELINE_SERVICE_PATHS } from '../lib/client/index.js';
import { createJwtGate, type JwtGate } from '../lib/index.js';
import { loadConfig } from '../lib/config/index.js';
import { loadOrCreateDpopKey } from '../lib/client/dpop-key.js';
import { generateKeyFiles } from '../lib/keys/index.js';
import { PIPELINE_SERVICE_CONFIG_PATH, startPipelineService } from '../example-app/pipeline-service/start.js';
import { DEFAULT_CONFIG_PATH, startExample, type RunningExample } from '../example-app/start.js';
import { rsaPair, signJwt } from './support/tokens.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const JWKS_PATH = '/api/v1/config/jwks';
const DEPLOY = '/api/v1/services/ingestionPipelines/deploy';
const TRIGGER = '/api/v1/services/ingestionPipelines/trigger';
/** The pipeline service's operator token: its health details (fetch counts) are not public. */
const HEALTH_TOKEN = randomBytes(32).toString('hex');
/** SQLite changes reach another process by polling (250 ms); allow a few rounds. */
const STORE_DELIVERY_MS = 1500;

describe('pipeline service (separate process) called by the main app with a bot token', function () {
  this.timeout(30_000);

  let dir: string;
  let env: NodeJS.ProcessEnv;
  let main: RunningExample;
  let relay: CountingRelay;
  let pipelineService: ChildProcess;
  let pipelineUrl: string;
  let configuredToken: string;
  let adminToken: string;

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-pipeline-'));
    const keys = await generateKeyFiles(path.join(dir, 'keys'));
    const databaseUrl = `sqlite:${path.join(dir, 'jwt-gate.db')}`;
    relay = await startCountingRelay();
    env = {
      RSA_PRIVATE_KEY_FILE_PATH: keys.privateKeyDer,
      RSA_PUBLIC_KEY_FILE_PATH: keys.publicKeyDer,
      AIRFLOW_HOST: relay.url,
      JWT_GATE_DEV_SSO: 'false',
    };
    // The documented setup: an admin generated ingestion-bot's token earlier (Settings → Bots)
    // and put it in OM_AUTH_JWT_TOKEN before starting the server.
    configuredToken = await generateBotTokenOffline(env, databaseUrl);
    main = await startExample({
      port: 0,
      databaseUrl,
      env: { ...env, OM_AUTH_JWT_TOKEN: configuredToken },
    });
    relay.jwksUpstream = main.url;
    adminToken = mintUserToken(main.gate, 'admin');

    ({ child: pipelineService, url: pipelineUrl } = await spawnPipelineService({
      OM_JWKS_URL: `${relay.url}${JWKS_PATH}`,
      DATABASE_URL: databaseUrl,
      JWT_GATE_HEALTH_TOKEN: HEALTH_TOKEN,
      // Reached through the relay: DPoP proofs name the relay's URL, the origin callers use.
      JWT_GATE_EXTERNAL_ORIGIN: relay.url,
    }));
    relay.pipelineUpstream = pipelineUrl;
  });

  after(async function () {
    await stopChild(pipelineService);
    await main?.close();
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys and triggers a pipeline through the main app with the configured bot token', async function () {
    const deployed = await request(main.url)
      .post(`${DEPLOY}/sample_data`)
      .auth(adminToken, { type: 'bearer' })
      .send({ pipelineType: 'metadata', sourceConfig: { type: 'DatabaseMetadata' } })
      .expect(200);
    assert.equal(deployed.body.name, 'sample_data');
    assert.match(deployed.body.pipelineService.message, /Workflow \[sample_data\] has been created/);
    // The pipeline service saw the bot, verified with the main app's keys.
    assert.equal(deployed.body.pipelineService.deployedBy, 'ingestion-bot');

    const triggered = await request(main.url)
      .post(`${TRIGGER}/sample_data`)
      .auth(adminToken, { type: 'bearer' })
      .expect(200);
    assert.match(triggered.body.pipelineService.runId, /^[0-9a-f-]{36}$/);
  });

  it('lets only admins use the pipeline routes of the main app', async function () {
    const res = await request(main.url)
      .post(`${DEPLOY}/sample_data`)
      .auth(configuredToken, { type: 'bearer' })
      .expect(403);
    assert.equal(res.body.errorCode, 'ERR_FORBIDDEN');
    await request(main.url).post(`${DEPLOY}/sample_data`).expect(401);
  });

  it('the pipeline service admits only bots of the main app, with RFC 6750 errors', async function () {
    await request(pipelineUrl)
      .post(PIPELINE_SERVICE_PATHS.deploy)
      .send({ name: 'x' })
      .expect(401)
      .expect('WWW-Authenticate', /^Bearer realm="jwt-gate"/);
    const person = await request(pipelineUrl)
      .post(PIPELINE_SERVICE_PATHS.deploy)
      .auth(adminToken, { type: 'bearer' })
      .send({ name: 'x' })
      .expect(403)
      .expect('WWW-Authenticate', /error="insufficient_scope"/);
    assert.match(person.body.message, /Only bots may call the pipeline service/);
    await request(pipelineUrl)
      .get(`${PIPELINE_SERVICE_PATHS.status}/sample_data`)
      .auth(configuredToken, { type: 'bearer' })
      .expect(200);
    const health = await request(pipelineUrl).get(PIPELINE_SERVICE_PATHS.health).expect(200);
    assert.equal(health.body.status, 'healthy');
  });

  it("without trustBotClaims a peer sees the main app's bot tokens as no bots at all", async function () {
    const configPath = path.join(dir, 'untrusting-pipeline-service.yaml');
    const yaml = readFileSync(PIPELINE_SERVICE_CONFIG_PATH, 'utf8');
    assert.match(yaml, /trustBotClaims: true/);
    writeFileSync(configPath, yaml.replace('trustBotClaims: true', 'trustBotClaims: false'));
    const untrusting = await startPipelineService({
      configPath,
      port: 0,
      databaseUrl: main.config.database.url,
      env: { OM_JWKS_URL: `${main.url}${JWKS_PATH}` },
    });
    try {
      const res = await request(untrusting.url)
        .post(PIPELINE_SERVICE_PATHS.deploy)
        .auth(configuredToken, { type: 'bearer' })
        .send({ name: 'x' })
        .expect(403);
      assert.equal(res.body.errorCode, 'ERR_FORBIDDEN');
    } finally {
      await untrusting.close();
    }
  });

  it('never fetches the JWKS more than its cache rules allow, even under a flood of unknown kids', async function () {
    // Everything so far was verified with the keys fetched once, at start.
    assert.equal(relay.jwksFetches, 1);
    const forged = Array.from({ length: 6 }, (_, i) =>
      signJwt({
        header: { kid: `unknown-kid-${i}` },
        payload: {
          iss: 'open-metadata.org',
          aud: 'jwt-gate',
          sub: 'ingestion-bot',
          isBot: true,
          tokenType: 'BOT',
        },
        key: rsaPair('attacker').privateKey,
      }),
    );
    for (const token of forged) {
      const res = await request(pipelineUrl)
        .post(PIPELINE_SERVICE_PATHS.deploy)
        .auth(token, { type: 'bearer' })
        .send({ name: 'x' })
        .expect(401);
      assert.equal(res.body.errorCode, 'ERR_TOKEN_KEY_UNKNOWN');
    }
    // At most one refetch per cooldown (30 s) for unknown kids.
    assert.ok(relay.jwksFetches <= 2, `JWKS fetched ${relay.jwksFetches} times`);
    const health = await request(pipelineUrl)
      .get('/api/v1/system/health')
      .auth(HEALTH_TOKEN, { type: 'bearer' })
      .expect(200);
    const source = (health.body.sources as Array<{ kind: string; fetchCount: number }>).find(
      (s) => s.kind === 'remote',
    );
    assert.equal(source?.fetchCount, relay.jwksFetches);
  });

  it('fails with a clear error once the bot token is revoked in the main app', async function () {
    await request(main.url)
      .delete('/api/v1/bots/ingestion-bot/token')
      .auth(adminToken, { type: 'bearer' })
      .expect(200);

    const res = await eventually(
      () => request(main.url).post(`${DEPLOY}/sample_data`).auth(adminToken, { type: 'bearer' }).send({}),
      (r) => r.status !== 200,
    );
    assert.equal(res.status, 502);
    assert.equal(res.body.errorCode, 'ERR_PIPELINE_SERVICE_FAILED');
    assert.match(res.body.message, /pipeline service rejected the bot token of ingestion-bot \(401\)/);
    assert.match(res.body.message, /revoked or replaced/);
    assert.match(res.body.message, /set OM_AUTH_JWT_TOKEN/);
    assert.ok(!res.text.includes(configuredToken), 'the token is never echoed');

    const direct = await request(pipelineUrl)
      .get(`${PIPELINE_SERVICE_PATHS.status}/sample_data`)
      .auth(configuredToken, { type: 'bearer' })
      .expect(401);
    assert.equal(direct.body.errorCode, 'ERR_TOKEN_REVOKED');
    assert.ok(relay.jwksFetches <= 2, `JWKS fetched ${relay.jwksFetches} times`);
  });

  it('demo mode: a second instance mints pipeline-demo-bot a token at its first call and keeps it until revoked', async function () {
    const demo = await startExample({ port: 0, databaseUrl: main.config.database.url, env });
    try {
      const ok = await request(demo.url)
        .post(`${DEPLOY}/demo_pipeline`)
        .auth(adminToken, { type: 'bearer' })
        .send({});
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.pipelineService.deployedBy, 'pipeline-demo-bot');

      await request(main.url)
        .delete('/api/v1/bots/pipeline-demo-bot/token')
        .auth(adminToken, { type: 'bearer' })
        .expect(200);
      const res = await eventually(
        () => request(demo.url).post(`${TRIGGER}/demo_pipeline`).auth(adminToken, { type: 'bearer' }),
        (r) => r.status !== 200,
      );
      assert.equal(res.status, 502);
      assert.match(res.body.message, /rejected the bot token of pipeline-demo-bot .*restart this server/);
      // Not silently re-minted: the revocation holds.
      const metadata = await request(main.url)
        .get('/api/v1/bots/pipeline-demo-bot/token')
        .auth(adminToken, { type: 'bearer' });
      assert.equal(metadata.status, 404);
    } finally {
      await demo.close();
    }
  });

  it('demo mode with OM_DPOP_KEY_FILE: the demo token is bound to the key, and the calls carry proofs', async function () {
    const keyFile = path.join(dir, 'demo-dpop-key.json');
    const demo = await startExample({
      port: 0,
      databaseUrl: main.config.database.url,
      env: { ...env, OM_DPOP_KEY_FILE: keyFile },
    });
    try {
      const ok = await request(demo.url)
        .post(`${DEPLOY}/bound_pipeline`)
        .auth(adminToken, { type: 'bearer' })
        .send({});
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const metadata = await request(main.url)
        .get('/api/v1/bots/pipeline-demo-bot/token')
        .auth(adminToken, { type: 'bearer' });
      assert.equal(metadata.body.dpopJkt, loadOrCreateDpopKey(keyFile).jkt);
    } finally {
      await demo.close();
    }
  });
});

/** Mints ingestion-bot's token with a short-lived gate over the same keys and store (no server). */
async function generateBotTokenOffline(env: NodeJS.ProcessEnv, databaseUrl: string): Promise<string> {
  const config = loadConfig({ path: DEFAULT_CONFIG_PATH, env });
  const gate = await createJwtGate({ ...config, database: { url: databaseUrl } }, { skipPrefetch: true });
  try {
    return (await gate.bots.generateToken('ingestion-bot', '1', 'admin')).JWTToken;
  } finally {
    await gate.close();
  }
}

function mintUserToken(gate: JwtGate, name: string): string {
  return gate.mintToken({
    subject: name,
    email: `${name}@example.com`,
    isBot: false,
    tokenType: 'OM_USER',
    expiry: 'OneHour',
  }).token;
}

/** Retries `send` until `done(response)` or the store-delivery deadline; returns the last response. */
async function eventually<T>(send: () => PromiseLike<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + STORE_DELIVERY_MS;
  for (;;) {
    const value = await send();
    if (done(value) || Date.now() > deadline) return value;
    await delay(100);
  }
}

interface CountingRelay {
  url: string;
  jwksUpstream: string;
  pipelineUpstream: string;
  jwksFetches: number;
  close(): Promise<void>;
}

/** The "network": the JWKS path goes to the main app (counted), everything else to the pipeline service. */
async function startCountingRelay(): Promise<CountingRelay> {
  const relay: CountingRelay = {
    url: '',
    jwksUpstream: '',
    pipelineUpstream: '',
    jwksFetches: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const isJwks = req.url === JWKS_PATH;
    if (isJwks) relay.jwksFetches += 1;
    const target = new URL(req.url ?? '/', isJwks ? relay.jwksUpstream : relay.pipelineUpstream);
    const upstream = http.request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://localhost:${(server.address() as AddressInfo).port}`;
  return relay;
}

/** `node --import tsx example-app/pipeline-service/main.ts` on a free port; resolves with its URL. */
function spawnPipelineService(extraEnv: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'example-app/pipeline-service/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', PIPELINE_SERVICE_PORT: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`pipeline service exited (${code}): ${stderr}`)));
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
