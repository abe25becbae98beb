/**
 * The public health route (issue 16 §3): a load balancer gets the status, a stranger learns
 * nothing about the deployment, and the details (key source URLs, their errors, the store, fetch
 * counts) go only to a verified admin or to the operator token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
import request from 'supertest';
import type { JwtGateOptions } from '../lib/config/types.js';
import { loadConfig } from '../lib/config/load-config.js';
import { ConfigError } from '../lib/errors.js';
import { createJwtGate, type JwtGate } from '../lib/gate.js';
import { createHealthRouter, HEALTH_PATH, type HealthReport } from '../lib/http/routes/health-router.js';
import { Listeners } from '../lib/store/listeners.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import type { BotTokenGuard } from '../lib/verify/bot-token-guard.js';
import { type JwksServer, startJwksServer } from './support/jwks-server.js';
import { testKeySet } from './support/tokens.js';

/** Where a hostile or misconfigured JWKS URL points: the cloud metadata service. */
const METADATA_URL = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';
const OPERATOR_TOKEN = randomBytes(32).toString('hex');

/** A memory store whose change feed can be reported lost, as a real store does in an outage. */
class OutageStore extends MemoryStore {
  readonly #health = new Listeners<boolean>();
  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
  }
  feed(up: boolean): void {
    this.#health.emit(up);
  }
}

/** Every bot token is current: bot principals without a bot registry round trip. */
const everyBotValid: BotTokenGuard = { check: () => 'valid', noteUse: () => {} };

describe('health route (GET /api/v1/system/health)', function () {
  let redirecting: JwksServer;
  let store: OutageStore;
  let gate: JwtGate;
  /** `app.use(gate.authenticate)` only: the gate answers the public path itself. */
  let app: Express;
  /** `gate.publicRouter` in front, as the pipeline service mounts it. */
  let publicApp: Express;

  before(async function () {
    // The key source answers with a redirect to an internal address: its last error names it.
    redirecting = await startJwksServer({ behaviour: { type: 'redirect', location: METADATA_URL } });
    store = new OutageStore();
    gate = await createJwtGate(gateOptions({ healthConfiguration: { detailsToken: OPERATOR_TOKEN } }), {
      keySet: testKeySet(),
      store,
      bots: everyBotValid,
    });
    app = express();
    app.use(gate.authenticate);
    app.use(gate.errorHandler);
    publicApp = express();
    publicApp.use(gate.publicRouter);
    publicApp.use(gate.errorHandler);
  });
  after(async function () {
    await gate?.close();
    await redirecting?.close();
  });

  const get = (authorization?: string, target: Express = app): request.Test => {
    const req = request(target).get(HEALTH_PATH);
    return authorization === undefined ? req : req.set('Authorization', authorization);
  };
  const userToken = (subject: string, nowMs?: number): string =>
    gate.mintToken(
      { subject, email: `${subject}@example.com`, isBot: false, tokenType: 'OM_USER', expiry: '1' },
      nowMs,
    ).token;

  /** The anonymous answer: exactly the status, nothing the deployment would rather keep to itself. */
  function assertStatusOnly(res: request.Response, status: number, state: 'ok' | 'degraded'): void {
    assert.equal(res.status, status, res.text);
    assert.deepEqual(Object.keys(res.body as object), ['status']);
    assert.deepEqual(res.body, { status: state });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['www-authenticate'], undefined, 'never a challenge: no 401 for health checks');
    for (const secret of ['169.254', redirecting.url, 'redirect', 'memory', 'fetchCount', 'self']) {
      assert.ok(!res.text.includes(secret), `the body must not mention ${secret}: ${res.text}`);
    }
  }

  function assertDetails(res: request.Response, status = 200): HealthReport {
    assert.equal(res.status, status, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.body as HealthReport;
    assert.deepEqual(Object.keys(body).sort(), ['sources', 'status', 'store']);
    assert.deepEqual(
      body.sources.map((s) => s.name),
      ['self', redirecting.jwksUri],
    );
    assert.ok(typeof body.sources[1]?.fetchCount === 'number');
    assert.deepEqual(body.store?.kind, 'memory');
    return body;
  }

  it('answers anonymous callers with the status only, though a key source redirects to an internal address', async function () {
    const details = gate.health();
    assert.match(
      details.sources[1]?.lastError ?? '',
      /169\.254\.169\.254/,
      'the error the route must not show',
    );

    // A failing remote source degrades, but our own tokens still verify: 200, as before.
    assertStatusOnly(await get(), 200, 'degraded');
    assertStatusOnly(await get(undefined, publicApp), 200, 'degraded');
    assert.equal((await request(app).head(HEALTH_PATH)).status, 200);
  });

  it('gives an admin (a verified token of a name in adminPrincipals) the full report', async function () {
    const body = assertDetails(await get(`Bearer ${userToken('admin')}`));
    assert.equal(body.status, 'degraded');
    assert.match(body.sources[1]?.lastError ?? '', /169\.254\.169\.254/);
    assertDetails(await get(`Bearer ${userToken('admin')}`, publicApp));
  });

  it('gives a valid token of a non-admin, or of a bot (even one listed as admin), the status only', async function () {
    assertStatusOnly(await get(`Bearer ${userToken('jane')}`), 200, 'degraded');
    const bot = gate.mintToken({ subject: 'ops-bot', isBot: true, tokenType: 'BOT', expiry: '1' }).token;
    const me = await request(withUser(gate)).get('/me').set('Authorization', `Bearer ${bot}`);
    assert.deepEqual([me.body.isAdmin, me.body.isBot], [true, true], 'listed in adminPrincipals, but a bot');
    assertStatusOnly(await get(`Bearer ${bot}`), 200, 'degraded');
    assertStatusOnly(await get(`Bearer ${bot}`, publicApp), 200, 'degraded');
  });

  it('answers an invalid, expired or malformed bearer with 200 and the status only, never 401', async function () {
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    for (const authorization of [
      'Bearer garbage',
      'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl',
      `Bearer ${userToken('admin', twoDaysAgo)}`, // expired
      `Bearer ${userToken('admin').slice(0, -4)}AAAA`, // signature broken
      'Bearer a b', // malformed header (400 elsewhere)
      'Bearer',
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    ]) {
      assertStatusOnly(await get(authorization), 200, 'degraded');
      assertStatusOnly(await get(authorization, publicApp), 200, 'degraded');
    }
    assertStatusOnly(
      await request(app).get(`${HEALTH_PATH}?access_token=${OPERATOR_TOKEN}`),
      200,
      'degraded',
    );
  });

  it('gives the operator token the full report, and a wrong one of the same length the status only', async function () {
    const logged: string[] = [];
    const restore = captureConsole(logged);
    try {
      const res = await get(`Bearer ${OPERATOR_TOKEN}`);
      assertDetails(res);
      assert.ok(!res.text.includes(OPERATOR_TOKEN), 'never echoed');
      assertDetails(await get(`Bearer ${OPERATOR_TOKEN}`, publicApp));

      const last = OPERATOR_TOKEN.at(-1) === '0' ? '1' : '0';
      const wrong = `${OPERATOR_TOKEN.slice(0, -1)}${last}`;
      assert.equal(wrong.length, OPERATOR_TOKEN.length);
      assertStatusOnly(await get(`Bearer ${wrong}`), 200, 'degraded');
      assertStatusOnly(await get(`Bearer ${OPERATOR_TOKEN}0`), 200, 'degraded');
      assertStatusOnly(await get(`Bearer ${OPERATOR_TOKEN.slice(0, 32)}`), 200, 'degraded');
    } finally {
      restore();
    }
    assert.ok(!logged.some((line) => line.includes(OPERATOR_TOKEN.slice(0, 16))), 'never logged');
  });

  it('answers 503 with the status only while the bot store is down; the details still to an admin', async function () {
    store.feed(false);
    try {
      assert.equal(gate.health().store?.healthy, false);
      assertStatusOnly(await get(), 503, 'degraded');
      assertStatusOnly(await get(`Bearer ${userToken('jane')}`), 503, 'degraded');
      assertStatusOnly(await get('Bearer garbage'), 503, 'degraded');
      const body = assertDetails(await get(`Bearer ${OPERATOR_TOKEN}`), 503);
      assert.deepEqual(body.store, { kind: 'memory', healthy: false });
      assertDetails(await get(`Bearer ${userToken('admin')}`), 503);
    } finally {
      store.feed(true);
    }
    await eventually(() => gate.health().store?.healthy === true);
  });

  it('keeps gate.health() the full report for the app’s own code', function () {
    const report = gate.health();
    assert.equal(report.status, 'degraded');
    assert.deepEqual(report.store, { kind: 'memory', healthy: true });
    assert.equal(report.sources[1]?.name, redirecting.jwksUri);
  });

  describe('a healthy gate without an operator token', function () {
    it('answers {"status":"ok"} to everyone, details to admins only, and no token is an operator token', async function () {
      const healthy = await createJwtGate(
        gateOptions({ authenticationConfiguration: { publicKeyUrls: [] } }),
        {
          keySet: testKeySet(),
          store: new MemoryStore(),
        },
      );
      try {
        const healthyApp = express().use(healthy.authenticate);
        assertStatusOnlyBody(await request(healthyApp).get(HEALTH_PATH), { status: 'ok' });
        assertStatusOnlyBody(
          await request(healthyApp).get(HEALTH_PATH).set('Authorization', `Bearer ${OPERATOR_TOKEN}`),
          { status: 'ok' },
        );
        const admin = healthy.mintToken({
          subject: 'admin',
          email: 'admin@example.com',
          isBot: false,
          tokenType: 'OM_USER',
          expiry: '1',
        }).token;
        const res = await request(healthyApp).get(HEALTH_PATH).set('Authorization', `Bearer ${admin}`);
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, healthy.health());
      } finally {
        await healthy.close();
      }
    });
  });

  describe('the operator token in the configuration', function () {
    it('refuses one shorter than 32 characters, naming the field and the fix, never the value', async function () {
      const tooShort = `${randomBytes(15).toString('hex')}z`;
      assert.equal(tooShort.length, 31);
      await assert.rejects(
        createJwtGate(gateOptions({ healthConfiguration: { detailsToken: tooShort } }), {
          keySet: testKeySet(),
          store: new MemoryStore(),
        }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /healthConfiguration\.detailsToken must be at least 32 characters/);
          assert.match(error.message, /openssl rand -hex 32/);
          assert.ok(!error.message.includes(tooShort), 'the value is never shown');
          return true;
        },
      );
      assert.throws(
        () => loadConfig({ text: '', env: { JWT_GATE_HEALTH_TOKEN: tooShort } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /healthConfiguration\.detailsToken \(from environment variable JWT_GATE_HEALTH_TOKEN\) must be at least 32 characters/.test(
            error.message,
          ) &&
          !error.message.includes(tooShort),
      );
    });

    it('refuses one that cannot be sent as a bearer token, and accepts empty (none) or 32+ characters', function () {
      const spaced = `${'x'.repeat(32)} y`;
      assert.throws(
        () => loadConfig({ text: '', env: { JWT_GATE_HEALTH_TOKEN: spaced } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          /healthConfiguration\.detailsToken .* must hold only letters, digits/.test(error.message) &&
          !error.message.includes(spaced),
      );
      assert.equal(loadConfig({ text: '', env: {} }).healthConfiguration.detailsToken, '');
      assert.equal(
        loadConfig({ text: '', env: { JWT_GATE_HEALTH_TOKEN: OPERATOR_TOKEN } }).healthConfiguration
          .detailsToken,
        OPERATOR_TOKEN,
      );
      const yaml = 'healthConfiguration:\n  detailsToken: ${JWT_GATE_HEALTH_TOKEN:-""}\n';
      assert.equal(loadConfig({ text: yaml, env: {} }).healthConfiguration.detailsToken, '');
    });
  });

  describe('createHealthRouter', function () {
    const report = (): HealthReport => ({
      status: 'ok',
      sources: [],
      store: { kind: 'memory', healthy: true },
    });

    it('shows the status only unless it is given a way to admit someone', async function () {
      const alone = express().use(createHealthRouter(report));
      assertStatusOnlyBody(await request(alone).get(HEALTH_PATH), { status: 'ok' });
      assertStatusOnlyBody(
        await request(alone).get(HEALTH_PATH).set('Authorization', `Bearer ${OPERATOR_TOKEN}`),
        { status: 'ok' },
      );
      const withToken = express().use(createHealthRouter(report, { detailsToken: OPERATOR_TOKEN }));
      const res = await request(withToken).get(HEALTH_PATH).set('Authorization', `Bearer ${OPERATOR_TOKEN}`);
      assert.deepEqual(res.body, report());
    });

    it('refuses an operator token shorter than 32 characters', function () {
      assert.throws(
        () => createHealthRouter(report, { detailsToken: 'short' }),
        (error: unknown) =>
          error instanceof ConfigError && /detailsToken must be at least 32/.test(error.message),
      );
    });
  });

  /** A gate in front of `/me`, to show what the gate makes of a token. */
  function withUser(g: JwtGate): Express {
    const me = express();
    me.use(g.authenticate);
    me.get('/me', (req, res) => {
      res.json(req.user);
    });
    me.use(g.errorHandler);
    return me;
  }

  function gateOptions(extra: JwtGateOptions): JwtGateOptions {
    return {
      ...extra,
      jwtTokenConfiguration: { jwtissuer: 'open-metadata.org', keyId: 'test-kid' },
      authenticationConfiguration: {
        provider: 'custom-oidc',
        publicKeyUrls: [{ url: redirecting.jwksUri, issuer: 'http://idp.test', audience: 'app' }],
        authority: 'http://idp.test',
        clientId: 'app',
        ...extra.authenticationConfiguration,
      },
      authorizerConfiguration: { adminPrincipals: ['admin', 'ops-bot'], principalDomain: 'example.com' },
      database: { url: 'memory:' },
    };
  }
});

function assertStatusOnlyBody(res: request.Response, body: { status: string }): void {
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, body);
  assert.equal(res.headers['cache-control'], 'no-store');
}

/** Collects everything written through console.* until the returned function is called. */
function captureConsole(into: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((name) => Object.getOwnPropertyDescriptor(console, name)!);
  for (const name of methods) {
    console[name] = (...args: unknown[]) => {
      into.push(args.map(String).join(' '));
    };
  }
  return () => {
    methods.forEach((name, i) => Object.defineProperty(console, name, saved[i]!));
  };
}

async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
