/**
 * The clients' side of DPoP (RFC 9449): the ingestion client and the pipeline-service client
 * against a real server on 127.0.0.1 that checks every proof the way §4.3 says (`verifyDpopProof`:
 * `htm`, `htu`, `ath`, signature; the token's key thumbprint; a `jti` never seen before) and can
 * demand server nonces (§8). A client that reused a proof, named the wrong URL or ignored a nonce
 * fails here.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';

import {
  createIngestionClient,
  createPipelineServiceClient,
  dpopKeyFromJwk,
  type DpopKey,
  IngestionAuthError,
  loadOrCreateDpopKey,
  loadWorkflowConfig,
  PipelineServiceError,
} from '../lib/client/index.js';
import type { AirflowConfiguration, JwtGateOptions } from '../lib/config/types.js';
import { verifyDpopProof, type DpopNonceVerdict } from '../lib/dpop/verify-proof.js';
import { ConfigError, DpopProofError } from '../lib/errors.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { runIngestion } from '../example-app/run-ingestion.js';
import { bearer, botGateOptions, type SsoFixture, startBotApp, startSso } from './support/bot-app.js';

const EXAMPLE_WORKFLOW = join(import.meta.dirname, '..', 'example-app', 'ingestion', 'workflow.yaml');

/** A compact JWS-shaped token; the server only looks it up in its table of tokens. */
function fakeJwt(): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ sub: 'ingestion-bot', jti: randomBytes(8).toString('hex') })}.${randomBytes(32).toString('base64url')}`;
}

function newKey(): DpopKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return dpopKeyFromJwk(privateKey.export({ format: 'jwk' }));
}

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  proof: string | undefined;
  /** The proof's `nonce` claim, if any. */
  nonce: string | undefined;
  status: number;
}

type NonceMode = 'off' | 'required' | 'always-stale';

/**
 * A resource server: Bearer tokens in `bearerTokens`, DPoP tokens in `boundTokens` (token → the
 * `cnf.jkt` they were minted for). Every proof is verified against this server's own URL and
 * remembered by `jti`; a second sighting of a `jti` is a replay and gets a 401.
 */
class DpopApiServer {
  readonly bearerTokens = new Set<string>();
  readonly boundTokens = new Map<string, string>();
  readonly received: Received[] = [];
  readonly seenJtis = new Set<string>();
  nonceMode: NonceMode = 'off';
  /** The nonce a proof must carry when `nonceMode` is `required`. */
  nonce = 'n-1';
  /** Sent as `DPoP-Nonce` on successful answers too (a rotation, §8.2), when set. */
  rotateTo: string | undefined;
  /** Challenge with `use_dpop_nonce` but send no `DPoP-Nonce` (a broken server). */
  omitNonceHeader = false;
  #issued = 0;
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

  reset(): void {
    this.bearerTokens.clear();
    this.boundTokens.clear();
    this.received.length = 0;
    this.seenJtis.clear();
    this.nonceMode = 'off';
    this.nonce = 'n-1';
    this.rotateTo = undefined;
    this.omitNonceHeader = false;
  }

  #freshNonce(): string {
    this.#issued += 1;
    return `n-${this.#issued}-${randomBytes(6).toString('base64url')}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _chunk of req) {
      /* drain the body */
    }
    const authorization = req.headers.authorization;
    const proof = typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined;
    const claims = proof === undefined ? {} : proofClaims(proof);
    const entry: Received = {
      method: req.method!,
      url: req.url!,
      authorization,
      proof,
      nonce: typeof claims.nonce === 'string' ? claims.nonce : undefined,
      status: 0,
    };
    this.received.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const ok = (): void =>
      send(200, { path: req.url }, this.rotateTo === undefined ? {} : { 'DPoP-Nonce': this.rotateTo });

    if (authorization?.startsWith('Bearer ')) {
      const token = authorization.slice('Bearer '.length);
      if (this.bearerTokens.has(token) && proof === undefined) return ok();
      return send(
        401,
        { code: 401, message: 'Token is not valid as Bearer' },
        {
          'WWW-Authenticate': 'Bearer realm="test", error="invalid_token"',
        },
      );
    }
    const token = authorization?.startsWith('DPoP ') ? authorization.slice('DPoP '.length) : '';
    const jkt = this.boundTokens.get(token);
    try {
      if (jkt === undefined) throw new DpopProofError('invalid_dpop_proof', 'The token is not known.');
      // A replay is refused whatever else the proof says: a reused proof is the client's bug.
      const jti = claims.jti;
      if (typeof jti === 'string' && this.seenJtis.has(jti)) {
        throw new DpopProofError('invalid_dpop_proof', 'The DPoP proof was used before (jti).');
      }
      if (typeof jti === 'string') this.seenJtis.add(jti);
      const htu = `${this.url}${new URL(req.url!, this.url).pathname}`;
      const verified = verifyDpopProof(
        proof ?? '',
        { method: req.method!, htu, accessToken: token },
        {
          nonce: (value) => this.#nonceVerdict(value),
        },
      );
      if (verified.jkt !== jkt) {
        throw new DpopProofError('invalid_dpop_proof', 'The token is bound to another key (cnf.jkt).');
      }
    } catch (error) {
      if (!(error instanceof DpopProofError)) throw error;
      const headers: Record<string, string> = {
        'WWW-Authenticate': `DPoP algs="ES256", error="${error.error}", error_description="${error.description}"`,
      };
      if (error.error === 'use_dpop_nonce') {
        if (this.nonceMode === 'always-stale') this.nonce = this.#freshNonce();
        if (!this.omitNonceHeader) headers['DPoP-Nonce'] = this.nonce;
      }
      return send(401, { code: 401, message: `Not Authorized! ${error.description}` }, headers);
    }
    ok();
  }

  #nonceVerdict(value: string | undefined): DpopNonceVerdict {
    if (this.nonceMode === 'off') return 'valid';
    if (value === undefined) return 'missing';
    return this.nonceMode === 'required' && value === this.nonce ? 'valid' : 'invalid';
  }
}

/** The claims of a proof, read without verifying (the server verifies separately). */
function proofClaims(proof: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}

describe('DPoP-bound tokens in lib/client (RFC 9449)', () => {
  const api = new DpopApiServer();
  const key = newKey();
  let dir: string;
  before(() => api.start());
  after(() => api.stop());
  beforeEach(() => {
    api.reset();
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-dpop-client-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A token the server accepts only with a proof by `boundTo`. */
  const boundToken = (boundTo: DpopKey = key): string => {
    const token = fakeJwt();
    api.boundTokens.set(token, boundTo.jkt);
    return token;
  };
  /** `dpopKey` null: no key, Bearer. */
  const ingestion = (token: string, dpopKey: DpopKey | string | null = key, tokenFile?: string) =>
    createIngestionClient(
      { hostPort: `${api.url}/api/`, jwtToken: token, ...(tokenFile === undefined ? {} : { tokenFile }) },
      dpopKey === null ? {} : { dpopKey },
    );

  describe('createIngestionClient with a DPoP key', () => {
    it('sends Authorization: DPoP and a fresh proof naming the method and the exact URL, for each verb', async () => {
      const token = boundToken();
      const client = ingestion(token);
      assert.equal(client.dpopJkt, key.jkt);
      assert.equal((await client.post('/v1/tables', { name: 'orders' })).status, 200);
      assert.equal((await client.get('/v1/tables?limit=10&after=x#frag')).status, 200);
      assert.equal((await client.put('v1/tables/orders', { a: 1 })).status, 200);
      assert.equal((await client.delete('/v1/tables/na%20me')).status, 200);
      assert.deepEqual(
        api.received.map((r) => [r.method, r.url, r.status, r.authorization === `DPoP ${token}`]),
        [
          ['POST', '/api/v1/tables', 200, true],
          ['GET', '/api/v1/tables?limit=10&after=x', 200, true],
          ['PUT', '/api/v1/tables/orders', 200, true],
          ['DELETE', '/api/v1/tables/na%20me', 200, true],
        ],
      );
      const htus = api.received.map((r) => proofClaims(r.proof!).htu);
      assert.deepEqual(htus, [
        `${api.url}/api/v1/tables`,
        `${api.url}/api/v1/tables`,
        `${api.url}/api/v1/tables/orders`,
        `${api.url}/api/v1/tables/na%20me`,
      ]);
    });

    it('never reuses a proof: the same request three times carries three proofs (the server refuses replays)', async () => {
      const client = ingestion(boundToken());
      for (let i = 0; i < 3; i += 1) assert.equal((await client.get('/v1/tables')).status, 200);
      await Promise.all([client.get('/v1/tables'), client.get('/v1/tables')]);
      assert.equal(new Set(api.received.map((r) => r.proof)).size, 5);
      assert.equal(api.seenJtis.size, 5);
      assert.ok(api.received.every((r) => r.status === 200));
    });

    it('gets the nonce from a use_dpop_nonce challenge, retries exactly once, and keeps it for later proofs', async () => {
      api.nonceMode = 'required';
      api.nonce = 'first-nonce';
      const client = ingestion(boundToken());
      assert.equal((await client.post('/v1/tables', { name: 'orders' })).status, 200);
      assert.deepEqual(
        api.received.map((r) => [r.method, r.status, r.nonce]),
        [
          ['POST', 401, undefined],
          ['POST', 200, 'first-nonce'],
        ],
      );
      assert.notEqual(api.received[0]!.proof, api.received[1]!.proof);
      // Known now: the next request needs no challenge.
      assert.equal((await client.get('/v1/tables')).status, 200);
      assert.deepEqual(
        api.received.slice(2).map((r) => [r.status, r.nonce]),
        [[200, 'first-nonce']],
      );
      // The server rotates the nonce on a successful answer: the next proof carries the new one.
      api.rotateTo = 'second-nonce';
      await client.get('/v1/tables');
      api.nonce = 'second-nonce';
      api.rotateTo = undefined;
      await client.get('/v1/tables');
      assert.deepEqual(
        api.received.slice(3).map((r) => [r.status, r.nonce]),
        [
          [200, 'first-nonce'],
          [200, 'second-nonce'],
        ],
      );
      // The server forgot the nonce (expired): one challenge, one retry.
      api.nonce = 'third-nonce';
      assert.equal((await client.get('/v1/tables')).status, 200);
      assert.deepEqual(
        api.received.slice(5).map((r) => [r.status, r.nonce]),
        [
          [401, 'second-nonce'],
          [200, 'third-nonce'],
        ],
      );
    });

    it('answers a second use_dpop_nonce in a row with IngestionAuthError, after exactly 2 requests (no loop, no token re-read)', async () => {
      api.nonceMode = 'always-stale';
      const token = boundToken();
      const tokenFile = join(dir, 'ingestion-bot.token');
      writeFileSync(tokenFile, `${token}\n`);
      const client = ingestion(token, key, tokenFile);
      await assert.rejects(client.post('/v1/tables', {}), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.equal(error.status, 401);
        assert.equal(error.code, 'ERR_CLIENT_UNAUTHORIZED');
        assert.match(error.message, /still asks for a DPoP nonce .*after one retry with the nonce it sent/);
        assert.ok(!error.message.includes(token), 'never the token');
        return true;
      });
      assert.deepEqual(
        api.received.map((r) => r.status),
        [401, 401],
      );
      assert.notEqual(api.received[0]!.nonce, api.received[1]!.nonce);
    });

    it('does not retry a use_dpop_nonce challenge that brings no nonce to retry with', async () => {
      api.nonceMode = 'required';
      api.omitNonceHeader = true;
      await assert.rejects(ingestion(boundToken()).get('/v1/tables'), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.match(error.message, /still asks for a DPoP nonce/);
        return true;
      });
      assert.deepEqual(
        api.received.map((r) => r.status),
        [401],
      );
    });

    it('refuses a token bound to another key with IngestionAuthError naming the key, never the token or proof', async () => {
      const token = boundToken(newKey());
      await assert.rejects(ingestion(token).get('/v1/tables'), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.match(error.message, /bound to another key/);
        assert.match(
          error.message,
          new RegExp(`sent DPoP-bound to the given DPoP key \\(thumbprint ${key.jkt}\\)`),
        );
        assert.ok(!error.message.includes(token));
        assert.ok(!error.message.includes(api.received[0]!.proof!));
        return true;
      });
    });

    it('without a key, sends Bearer exactly as before: no DPoP header; a bound token alone gets 401', async () => {
      const bearer = fakeJwt();
      api.bearerTokens.add(bearer);
      const client = ingestion(bearer, null);
      assert.equal(client.dpopJkt, undefined);
      assert.equal((await client.get('/v1/tables')).status, 200);
      assert.deepEqual(
        api.received.map((r) => [r.authorization === `Bearer ${bearer}`, r.proof]),
        [[true, undefined]],
      );
      await assert.rejects(ingestion(boundToken(), null).get('/v1/tables'), IngestionAuthError);
    });
  });

  describe('the DPoP key file', () => {
    const workflow = (tokenRef: string, dpopKeyFilePath: string): string =>
      [
        'workflowConfig:',
        '  openMetadataServerConfig:',
        `    hostPort: ${api.url}/api`,
        '    authProvider: openmetadata',
        '    securityConfig:',
        `      jwtToken: ${tokenRef}`,
        `      dpopKeyFilePath: ${dpopKeyFilePath}`,
      ].join('\n');

    it('is created on first use next to the token file with mode 0600, and reused after', async () => {
      const tokenFile = join(dir, 'ingestion-bot.token');
      const workflowFile = join(dir, 'workflow.yaml');
      const keyFile = join(dir, 'dpop-key.json');
      writeFileSync(workflowFile, workflow('./ingestion-bot.token', './dpop-key.json'));
      writeFileSync(tokenFile, `${fakeJwt()}\n`);
      const config = loadWorkflowConfig(workflowFile);
      assert.equal(config.dpopKeyFile, keyFile);
      assert.equal(existsSync(keyFile), false, 'reading the workflow creates nothing');

      const first = createIngestionClient(config);
      assert.ok(existsSync(keyFile), 'the client creates the key');
      if (process.platform !== 'win32') assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const stored = readFileSync(keyFile, 'utf8');
      assert.equal(first.dpopJkt, loadOrCreateDpopKey(keyFile).jkt);

      // The admin mints a token for that thumbprint (dpopJkt); the next run uses it with the same key.
      const token = fakeJwt();
      api.boundTokens.set(token, first.dpopJkt);
      writeFileSync(tokenFile, `${token}\n`);
      const second = createIngestionClient(loadWorkflowConfig(workflowFile));
      assert.equal(second.dpopJkt, first.dpopJkt);
      assert.equal((await second.get('/v1/tables')).status, 200);
      // The first client re-reads the token file on its 401 and signs with the same key.
      assert.equal((await first.get('/v1/tables')).status, 200);
      assert.equal(readFileSync(keyFile, 'utf8'), stored, 'the key file is not rewritten');
    });

    it('is created by the client itself when missing, 0600, at creation before any request', () => {
      const keyFile = join(dir, 'keys', '..', 'dpop-key.json');
      const client = ingestion(fakeJwt(), keyFile);
      assert.ok(existsSync(keyFile));
      if (process.platform !== 'win32') assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.equal(client.dpopJkt, loadOrCreateDpopKey(keyFile).jkt);
      assert.equal(api.received.length, 0);
    });

    it('is refused when group- or world-readable, naming the setting and the fix', function () {
      if (process.platform === 'win32') this.skip();
      const keyFile = join(dir, 'dpop-key.json');
      loadOrCreateDpopKey(keyFile);
      chmodSync(keyFile, 0o644);
      const workflowFile = join(dir, 'workflow.yaml');
      writeFileSync(workflowFile, workflow(fakeJwt(), keyFile));
      assert.throws(
        () => createIngestionClient(loadWorkflowConfig(workflowFile)),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.code, 'ERR_KEY_INVALID');
          assert.match(error.message, /securityConfig\.dpopKeyFilePath in .*workflow\.yaml/);
          assert.match(error.message, /chmod 600/);
          return true;
        },
      );
    });

    it('comes from OM_DPOP_KEY_FILE in the example workflow; runIngestion then sends every call bound', async () => {
      const keyFile = join(dir, 'dpop-key.json');
      const tokenFile = join(dir, 'ingestion-bot.token');
      const jkt = loadOrCreateDpopKey(keyFile).jkt;
      const token = fakeJwt();
      api.boundTokens.set(token, jkt);
      writeFileSync(tokenFile, token);
      const env = { OM_HOST_PORT: `${api.url}/api`, OM_JWT_TOKEN: tokenFile, OM_DPOP_KEY_FILE: keyFile };
      assert.equal(loadWorkflowConfig(EXAMPLE_WORKFLOW, env).dpopKeyFile, keyFile);
      assert.equal(
        loadWorkflowConfig(EXAMPLE_WORKFLOW, { ...env, OM_DPOP_KEY_FILE: '' }).dpopKeyFile,
        undefined,
      );
      assert.deepEqual(await runIngestion(EXAMPLE_WORKFLOW, undefined, { env }), {
        created: 2,
        lineageEdges: 1,
      });
      assert.equal(api.received.length, 3);
      assert.ok(api.received.every((r) => r.status === 200 && r.authorization === `DPoP ${token}`));
    });
  });

  describe('createPipelineServiceClient with a DPoP key', () => {
    const airflow = (jwtToken: string, dpopKeyFilePath?: string): AirflowConfiguration => ({
      apiEndpoint: `${api.url}/`,
      metadataApiEndpoint: 'http://localhost:8585/api',
      authProvider: 'openmetadata',
      authConfig: {
        openmetadata: { jwtToken, ...(dpopKeyFilePath === undefined ? {} : { dpopKeyFilePath }) },
      },
    });

    it('binds every call to the key of authConfig.openmetadata.dpopKeyFilePath, created 0600 on first use', async () => {
      const keyFile = join(dir, 'dpop-key.json');
      const pipelines = createPipelineServiceClient(airflow(fakeJwt(), keyFile));
      if (process.platform !== 'win32') assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      const token = fakeJwt();
      api.boundTokens.set(token, pipelines.dpopJkt!);
      const bound = createPipelineServiceClient(airflow(token, keyFile));
      await bound.deployPipeline('sample data', { pipelineType: 'metadata' });
      await bound.triggerPipeline('sample data');
      await bound.pipelineStatus('sample data');
      await bound.status();
      assert.deepEqual(
        api.received.map((r) => [r.method, r.url, r.status, r.authorization === `DPoP ${token}`]),
        [
          ['POST', '/api/v1/openmetadata/deploy', 200, true],
          ['POST', '/api/v1/openmetadata/trigger/sample%20data', 200, true],
          ['GET', '/api/v1/openmetadata/status/sample%20data', 200, true],
          ['GET', '/api/v1/openmetadata/health', 200, true],
        ],
      );
    });

    it('retries once on use_dpop_nonce, and reports a second challenge as PipelineServiceError', async () => {
      api.nonceMode = 'required';
      const token = boundToken();
      const pipelines = createPipelineServiceClient(airflow(token), { dpopKey: key });
      await pipelines.triggerPipeline('p');
      assert.deepEqual(
        api.received.map((r) => [r.status, r.nonce]),
        [
          [401, undefined],
          [200, 'n-1'],
        ],
      );
      api.nonceMode = 'always-stale';
      await assert.rejects(pipelines.triggerPipeline('p'), (error: Error) => {
        assert.ok(error instanceof PipelineServiceError);
        assert.equal(error.status, 401);
        assert.match(error.message, /still asks for a DPoP nonce/);
        assert.ok(!error.message.includes(token));
        return true;
      });
      assert.equal(api.received.length, 4);
    });

    it('with an empty dpopKeyFilePath (the default), sends Bearer as before', async () => {
      const token = fakeJwt();
      api.bearerTokens.add(token);
      const pipelines = createPipelineServiceClient(airflow(token, ''));
      assert.equal(pipelines.dpopJkt, undefined);
      await pipelines.status();
      assert.deepEqual(
        api.received.map((r) => [r.authorization === `Bearer ${token}`, r.proof]),
        [[true, undefined]],
      );
    });

    it('refuses an unusable key file at creation, naming the field', () => {
      const keyFile = join(dir, 'dpop-key.json');
      writeFileSync(keyFile, '{"kty":"RSA"}', { mode: 0o600 });
      assert.throws(
        () => createPipelineServiceClient(airflow(fakeJwt(), keyFile)),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /airflowConfiguration\.authConfig\.openmetadata\.dpopKeyFilePath/);
          assert.match(error.message, /P-256 private JWK/);
          return true;
        },
      );
    });
  });
});

/**
 * End to end: the real gate (`startBotApp`, DPoP verification in `gate.authenticate`) on a port,
 * a bot token minted through the bot API for the client's key, and the ingestion client.
 */
describe('DPoP-bound bot token end to end: ingestion client → a jwt-gate protected app', () => {
  let sso: SsoFixture;
  let dir: string;

  before(async () => {
    sso = await startSso();
  });
  after(() => sso.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-dpop-e2e-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The bot app on 127.0.0.1, and ingestion-bot's token bound to `jkt`, minted by an admin. */
  async function startBound(jkt: string, dpop: JwtGateOptions['dpopConfiguration'] = {}) {
    const { app, gate } = await startBotApp(
      sso,
      { store: new MemoryStore() },
      {
        ...botGateOptions(sso),
        dpopConfiguration: dpop,
      },
    );
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const statuses: number[] = [];
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.on('finish', () => statuses.push(res.statusCode));
    });
    const minted = await request(app)
      .put('/api/v1/bots/ingestion-bot/token')
      .set(bearer(sso.token('admin')))
      .send({ JWTTokenExpiry: '7', dpopJkt: jkt });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    return {
      hostPort: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
      token: (minted.body as { JWTToken: string }).JWTToken,
      /** Statuses of the requests the clients sent, in order (minting went through supertest). */
      statuses,
      async close() {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await gate.close();
      },
    };
  }

  it('the client holding the key gets 200; the same token without the key gets 401', async () => {
    const keyFile = join(dir, 'dpop-key.json');
    const jkt = loadOrCreateDpopKey(keyFile).jkt;
    const bound = await startBound(jkt);
    try {
      const withKey = createIngestionClient(
        { hostPort: bound.hostPort, jwtToken: bound.token },
        { dpopKey: keyFile },
      );
      const answer = await withKey.get('/v1/tables');
      assert.equal(answer.status, 200);
      assert.equal((answer.body as { principal: { name: string } }).principal.name, 'ingestion-bot');
      assert.equal((await withKey.get('/v1/tables')).status, 200, 'a second request, a second proof');

      const tokenOnly = createIngestionClient({ hostPort: bound.hostPort, jwtToken: bound.token });
      await assert.rejects(tokenOnly.get('/v1/tables'), (error: Error) => {
        assert.ok(error instanceof IngestionAuthError);
        assert.equal(error.status, 401);
        assert.match(
          error.message,
          /bound to a key \(DPoP\): set securityConfig\.dpopKeyFilePath \(OM_DPOP_KEY_FILE\)/,
        );
        assert.ok(!error.message.includes(bound.token));
        return true;
      });
      const otherKey = createIngestionClient(
        { hostPort: bound.hostPort, jwtToken: bound.token },
        { dpopKey: newKey() },
      );
      await assert.rejects(otherKey.get('/v1/tables'), IngestionAuthError);
    } finally {
      await bound.close();
    }
  });

  it('with server nonces required, the client retries once with the DPoP-Nonce and then keeps it', async () => {
    const key = newKey();
    const bound = await startBound(key.jkt, { requireNonce: true });
    try {
      const client = createIngestionClient(
        { hostPort: bound.hostPort, jwtToken: bound.token },
        { dpopKey: key },
      );
      assert.equal((await client.get('/v1/tables')).status, 200);
      assert.equal((await client.get('/v1/tables')).status, 200);
      assert.deepEqual(bound.statuses, [401, 200, 200], 'one challenge, one retry, then the kept nonce');
    } finally {
      await bound.close();
    }
  });
});
