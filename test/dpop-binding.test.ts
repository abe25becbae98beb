/**
 * DPoP-bound tokens on the server (RFC 9449, issue 20): real HTTP through `gate.authenticate` (and
 * an app's own Passport), proofs signed by keys the test holds, and the attacks of RFC 9449 §11 and
 * the reference library's history — each refused with a 401 and the DPoP challenge, never a 500.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { Passport } from 'passport';
import request from 'supertest';
import { type DpopKey, createDpopProof, dpopKeyFromJwk } from '../lib/client/dpop-key.js';
import type { DpopConfiguration } from '../lib/config/types.js';
import type { JwtGate } from '../lib/gate.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { PostgresStore } from '../lib/store/postgres-store.js';
import type { BotStore } from '../lib/store/types.js';
import { type BotApp, type SsoFixture, botGateOptions, startBotApp, startSso } from './support/bot-app.js';
import { dropSchemas, requirePostgres, testSchemaName, TEST_DATABASE_URL } from './support/postgres.js';

const ORIGIN = 'https://api.example.com';
const PATH = '/api/v1/tables';
const URL_OF_PATH = `${ORIGIN}${PATH}`;
const ALGS = 'ES256 EdDSA RS256 PS256';
/** `WWW-Authenticate` of a refused proof: the DPoP challenge with its error, then Bearer (still accepted). */
const PROOF_CHALLENGE = new RegExp(
  `^DPoP realm="jwt-gate", error="invalid_dpop_proof", error_description="[^"]+", algs="${ALGS}", Bearer realm="jwt-gate"$`,
);

/** A fresh P-256 client key, as `loadOrCreateDpopKey` would hold. */
function newKey(): DpopKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return dpopKeyFromJwk(privateKey.export({ format: 'jwk' }));
}

interface ProofOptions {
  method?: string;
  url?: string;
  nonce?: string;
  now?: number;
}

function proofFor(key: DpopKey, token: string, options: ProofOptions = {}): string {
  return createDpopProof(key, {
    method: options.method ?? 'GET',
    url: options.url ?? URL_OF_PATH,
    accessToken: token,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

/** A proof built by hand, for the malformed ones: any header, any claims, signed as told. */
function rawProof(
  key: DpopKey,
  token: string,
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
  signWith: 'ES256' | 'HS256' | 'none' = 'ES256',
): string {
  const payload = {
    jti: randomUUID(),
    htm: 'GET',
    htu: URL_OF_PATH,
    iat: Math.floor(Date.now() / 1000),
    ath: sha256(token),
    ...claims,
  };
  const input = `${b64(header)}.${b64(payload)}`;
  if (signWith === 'none') return `${input}.`;
  const signature =
    signWith === 'HS256'
      ? createHmac('sha256', 'shared-secret').update(input).digest()
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest('base64url');
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A person's token of our own, bound to `jkt` when given. */
function personToken(gate: JwtGate, jkt?: string): string {
  return gate.mintToken({
    subject: 'alice',
    email: 'alice@example.com',
    isBot: false,
    tokenType: 'OM_USER',
    expiry: '1',
    ...(jkt === undefined ? {} : { dpopJkt: jkt }),
  }).token;
}

function dpopCall(
  app: Express | string,
  token: string,
  proof: string | string[] | undefined,
  method = 'get',
  path = PATH,
) {
  let req = (method === 'post' ? request(app).post(path) : request(app).get(path)).set(
    'Authorization',
    `DPoP ${token}`,
  );
  if (typeof proof === 'string') req = req.set('DPoP', proof);
  // Node sends an array as one header line per value: two DPoP headers.
  else if (Array.isArray(proof)) req = req.set('DPoP', proof as unknown as string);
  return req;
}

function assertProofRefused(
  res: request.Response,
  description: RegExp,
  secrets: readonly string[] = [],
): void {
  assert.equal(res.status, 401, res.text);
  assert.equal(res.body.errorCode, 'ERR_DPOP_PROOF_INVALID');
  const challenge = String(res.headers['www-authenticate']);
  assert.match(challenge, PROOF_CHALLENGE);
  assert.match(challenge, description);
  for (const secret of secrets) {
    assert.ok(!res.text.includes(secret) && !challenge.includes(secret), 'never echoes a proof or a token');
  }
}

describe('DPoP-bound tokens (RFC 9449) through gate.authenticate', function () {
  let sso: SsoFixture;
  const apps: BotApp[] = [];

  before(async function () {
    sso = await startSso();
  });
  afterEach(async function () {
    for (const { gate } of apps.splice(0)) await gate.close();
  });
  after(() => sso?.close());

  async function start(
    dpop: Partial<DpopConfiguration> = { externalOrigin: ORIGIN },
    deps: { store?: BotStore } = {},
  ): Promise<BotApp> {
    const app = await startBotApp(sso, deps, { ...botGateOptions(sso), dpopConfiguration: dpop });
    apps.push(app);
    return app;
  }

  it('lets a bound token with a valid proof in, every time with a fresh proof, and refuses a replayed proof', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const first = proofFor(key, token);
    const ok = await dpopCall(app, token, first).expect(200);
    assert.equal(ok.body.principal.name, 'alice');
    assert.deepEqual(ok.body.principal.claims.cnf, { jkt: key.jkt });
    // The second and third verifications go through the verified-token cache: still checked.
    await dpopCall(app, token, proofFor(key, token)).expect(200);
    await dpopCall(app, token, proofFor(key, token)).expect(200);
    assertProofRefused(await dpopCall(app, token, first), /replayed/, [token, first]);
  });

  it('refuses a proof for another URL, another method, or an htu with a query or a fragment', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const token = personToken(gate, key.jkt);
    await dpopCall(app, token, proofFor(key, token)).expect(200);
    assertProofRefused(
      await dpopCall(app, token, proofFor(key, token, { url: `${ORIGIN}/api/v1/other` })),
      /htu.* does not match the request URL/,
    );
    assertProofRefused(await dpopCall(app, token, proofFor(key, token, { method: 'POST' })), /htm/);
    for (const htu of [`${URL_OF_PATH}?limit=1`, `${URL_OF_PATH}#top`]) {
      assertProofRefused(
        await dpopCall(
          app,
          token,
          rawProof(key, token, { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk }, { htu }),
        ),
        /query or a fragment/,
      );
    }
  });

  it('refuses a private key in jwk, alg none, HS256, a stale or future iat, and a garbage proof', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
    const privateJwk = key.privateKey.export({ format: 'jwk' });
    const now = Date.now();
    const cases: [string, RegExp][] = [
      [rawProof(key, token, { ...header, jwk: privateJwk }), /private key material/],
      [rawProof(key, token, { ...header, alg: 'none' }, {}, 'none'), /compact form/],
      [rawProof(key, token, { ...header, alg: 'HS256' }, {}, 'HS256'), /shared secret \(HS\*\)/],
      [proofFor(key, token, { now: now - 120_000 }), /too old/],
      [proofFor(key, token, { now: now + 60_000 }), /future/],
      ['not-a-proof', /compact form/],
    ];
    for (const [proof, description] of cases) {
      assertProofRefused(await dpopCall(app, token, proof), description, [token, proof]);
    }
  });

  it('refuses a proof for another token (ath) and a token bound to another key', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const otherToken = personToken(gate, key.jkt);
    assertProofRefused(await dpopCall(app, token, proofFor(key, otherToken)), /ath/);
    const thief = newKey();
    assertProofRefused(await dpopCall(app, token, proofFor(thief, token)), /another key|other than the one/);
  });

  it('refuses a bound token sent as Bearer, and an unbound token sent as DPoP, with both challenges', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const bound = personToken(gate, key.jkt);
    const asBearer = await request(app).get(PATH).set('Authorization', `Bearer ${bound}`).expect(401);
    assert.equal(asBearer.body.errorCode, 'ERR_TOKEN_DPOP_REQUIRED');
    assert.match(
      String(asBearer.headers['www-authenticate']),
      new RegExp(
        `^Bearer realm="jwt-gate", error="invalid_token", error_description="[^"]*DPoP[^"]*", DPoP realm="jwt-gate", algs="${ALGS}"$`,
      ),
    );
    // Cached or not, the same answer.
    await dpopCall(app, bound, proofFor(key, bound)).expect(200);
    await dpopCall(app, bound, proofFor(key, bound)).expect(200);
    await request(app).get(PATH).set('Authorization', `Bearer ${bound}`).expect(401);

    const unbound = personToken(gate);
    await request(app).get(PATH).set('Authorization', `Bearer ${unbound}`).expect(200);
    const asDpop = await dpopCall(app, unbound, proofFor(key, unbound)).expect(401);
    assert.equal(asDpop.body.errorCode, 'ERR_TOKEN_NOT_DPOP_BOUND');
    assert.match(
      String(asDpop.headers['www-authenticate']),
      /^Bearer realm="jwt-gate", error="invalid_token", .*, DPoP realm="jwt-gate", algs=/,
    );
  });

  it('refuses no proof, two DPoP headers, and a DPoP scheme without a token, never with a 500', async function () {
    const { app, gate } = await start();
    const key = newKey();
    const token = personToken(gate, key.jkt);
    assertProofRefused(await dpopCall(app, token, undefined), /no DPoP proof/);
    const proofs = [proofFor(key, token), proofFor(key, token)];
    assertProofRefused(await dpopCall(app, token, proofs), /more than one DPoP header/);
    const empty = await request(app).get(PATH).set('Authorization', 'DPoP ').expect(400);
    assert.equal(empty.body.errorCode, 'ERR_REQUEST_INVALID');
    const missing = await request(app).get(PATH).expect(401);
    assert.equal(
      missing.headers['www-authenticate'],
      `Bearer realm="jwt-gate", DPoP realm="jwt-gate", algs="${ALGS}"`,
    );
  });

  it('with externalOrigin, refuses a proof naming the host an attacker puts in Host or X-Forwarded-Host', async function () {
    const { app, gate } = await start({ externalOrigin: ORIGIN });
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const elsewhere = proofFor(key, token, { url: `http://attacker.example${PATH}` });
    assertProofRefused(await dpopCall(app, token, elsewhere).set('Host', 'attacker.example'), /htu/);
    const forwarded = proofFor(key, token, { url: `https://attacker.example${PATH}` });
    assertProofRefused(
      await dpopCall(app, token, forwarded)
        .set('X-Forwarded-Host', 'attacker.example')
        .set('X-Forwarded-Proto', 'https'),
      /htu/,
    );
  });

  it('without externalOrigin, takes the host from Host (documented: set externalOrigin) and ignores X-Forwarded-* from untrusted peers', async function () {
    const { app, gate } = await start({});
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const key = newKey();
      const token = personToken(gate, key.jkt);
      await dpopCall(base, token, proofFor(key, token, { url: `${base}${PATH}` })).expect(200);
      // The request's own Host decides: a proof naming it matches (why a deployment with several
      // names, or behind a proxy, must set externalOrigin).
      await dpopCall(base, token, proofFor(key, token, { url: `http://other.example${PATH}` }))
        .set('Host', 'other.example')
        .expect(200);
      // X-Forwarded-Host is not believed from a peer that is not a trusted proxy.
      const forwarded = proofFor(key, token, { url: `https://attacker.example${PATH}` });
      assertProofRefused(
        await dpopCall(base, token, forwarded)
          .set('X-Forwarded-Host', 'attacker.example')
          .set('X-Forwarded-Proto', 'https'),
        /htu/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('with requireNonce, answers use_dpop_nonce with a DPoP-Nonce, and lets the retry with it in', async function () {
    const { app, gate } = await start({ externalOrigin: ORIGIN, requireNonce: true });
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const first = await dpopCall(app, token, proofFor(key, token)).expect(401);
    assert.equal(first.body.errorCode, 'ERR_DPOP_NONCE_REQUIRED');
    assert.match(
      String(first.headers['www-authenticate']),
      /^DPoP realm="jwt-gate", error="use_dpop_nonce", /,
    );
    const nonce = String(first.headers['dpop-nonce']);
    assert.match(nonce, /^[A-Za-z0-9_-]{32}$/);
    const ok = await dpopCall(app, token, proofFor(key, token, { nonce })).expect(200);
    assert.equal(ok.headers['dpop-nonce'], nonce, 'every DPoP response carries the current nonce');
    const forged = `${nonce.slice(0, -2)}${nonce.endsWith('AA') ? 'BB' : 'AA'}`;
    const refused = await dpopCall(app, token, proofFor(key, token, { nonce: forged })).expect(401);
    assert.equal(refused.body.errorCode, 'ERR_DPOP_NONCE_REQUIRED');
  });

  it('checks SSO tokens bound by their IdP (cnf.jkt) the same way', async function () {
    const { app } = await start();
    const key = newKey();
    const token = sso.sign({ sub: 'id-carol', email: 'carol@example.com', cnf: { jkt: key.jkt } });
    const ok = await dpopCall(app, token, proofFor(key, token)).expect(200);
    assert.equal(ok.body.principal.name, 'carol');
    const asBearer = await request(app).get(PATH).set('Authorization', `Bearer ${token}`).expect(401);
    assert.equal(asBearer.body.errorCode, 'ERR_TOKEN_DPOP_REQUIRED');
    // A token bound by a method this server cannot check (mTLS) is refused, not taken as Bearer.
    const mtls = sso.sign({ sub: 'id-dave', email: 'dave@example.com', cnf: { 'x5t#S256': 'abc' } });
    const refused = await request(app).get(PATH).set('Authorization', `Bearer ${mtls}`).expect(401);
    assert.equal(refused.body.errorCode, 'ERR_TOKEN_CLAIM_INVALID');
  });

  for (const engine of ['direct', 'passport'] as const) {
    it(`applies through gate.strategies on an app's own Passport (engine: ${engine})`, async function () {
      const { gate } = await startBotApp(
        sso,
        {},
        {
          ...botGateOptions(sso),
          dpopConfiguration: { externalOrigin: ORIGIN },
          verificationConfiguration: { engine },
        },
      );
      apps.push({ gate, app: express() });
      const passport = new Passport();
      for (const [name, strategy] of gate.strategies) passport.use(name, strategy);
      const app = express();
      app.get(PATH, ((req, res, next) => {
        (
          passport.authenticate(
            'self',
            { session: false },
            (err: unknown, user: Express.User | false, challenge: unknown, status: number | undefined) => {
              if (err) next(err);
              else if (!user)
                res.status(status ?? 401).json({ refused: (challenge as { code?: string }).code });
              else res.json({ name: user.name });
            },
          ) as RequestHandler
        )(req, res, next);
      }) as RequestHandler);
      const key = newKey();
      const token = personToken(gate, key.jkt);
      const asBearer = await request(app).get(PATH).set('Authorization', `Bearer ${token}`).expect(401);
      assert.equal(asBearer.body.refused, 'ERR_TOKEN_DPOP_REQUIRED');
      assert.equal((await dpopCall(app, token, proofFor(key, token)).expect(200)).body.name, 'alice');
      const proof = proofFor(key, token);
      await dpopCall(app, token, proof).expect(200);
      assert.equal((await dpopCall(app, token, proof).expect(401)).body.refused, 'ERR_DPOP_PROOF_INVALID');
    });
  }

  it('fails closed with 503 when the shared replay store cannot answer', async function () {
    class UnreachableStore extends MemoryStore {
      override claimDpopProof(): Promise<boolean> {
        return Promise.reject(new Error('connection refused'));
      }
    }
    const broken = new UnreachableStore();
    const { app, gate } = await start({ externalOrigin: ORIGIN }, { store: broken });
    const key = newKey();
    const token = personToken(gate, key.jkt);
    const res = await dpopCall(app, token, proofFor(key, token)).expect(503);
    assert.equal(res.body.errorCode, 'ERR_STORE_UNAVAILABLE');
  });

  describe('a proof counts once across instances sharing a store', function () {
    it('on one SQLite file', async function () {
      const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-dpop-'));
      try {
        const options = {
          ...botGateOptions(sso, 'sqlite:./bots.db'),
          baseDir: dir,
          dpopConfiguration: { externalOrigin: ORIGIN },
        };
        const one = await startBotApp(sso, {}, options);
        apps.push(one);
        const two = await startBotApp(sso, {}, options);
        apps.push(two);
        await assertReplayRefusedOnTheOther(one, two);
      } finally {
        for (const { gate } of apps.splice(0)) await gate.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('on one PostgreSQL schema', async function () {
      await requirePostgres(this);
      const schema = testSchemaName();
      const stores: PostgresStore[] = [];
      try {
        const instance = async (): Promise<BotApp> => {
          const store = new PostgresStore({ url: TEST_DATABASE_URL, schema });
          stores.push(store);
          return start({ externalOrigin: ORIGIN }, { store });
        };
        const one = await instance();
        const two = await instance();
        await assertReplayRefusedOnTheOther(one, two);
      } finally {
        for (const { gate } of apps.splice(0)) await gate.close();
        for (const store of stores) await store.close();
        await dropSchemas([schema]);
      }
    });

    async function assertReplayRefusedOnTheOther(one: BotApp, two: BotApp): Promise<void> {
      const key = newKey();
      const token = personToken(one.gate, key.jkt);
      const proof = proofFor(key, token);
      await dpopCall(one.app, token, proof).expect(200);
      assertProofRefused(await dpopCall(two.app, token, proof), /replayed/);
      await dpopCall(two.app, token, proofFor(key, token)).expect(200);
    }
  });
});
