/**
 * One app under test, in its own process, driven by the runner over IPC: `start` builds the app
 * (bare Express, bare Express + one RSA check, or the same route behind jwt-gate) and answers
 * `ready` with the port; `reset`/`stats` bracket a measured window and report this process's CPU
 * time and peak RSS. The child exits when the runner goes away.
 */
import { type JsonWebKey, type KeyObject, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { type JwtGate, createJwtGate } from '../lib/gate.js';
import { buildPeerApp } from './peers.js';
import type { Principal } from '../lib/verify/principal.js';
import type { AppMessage, AppStartMessage, AppStartup, AppStats, RunnerMessage } from './protocol.js';
import { SELF_ISSUER, SSO_AUDIENCE, SSO_ISSUER, keySetFromPrivateKey } from './tokens.js';

/** RSS sampling period during a window, ms. */
const RSS_SAMPLE_MS = 20;

const listTables: RequestHandler = (_req, res) => {
  res.json({
    data: [
      { id: 1, name: 'orders', database: 'sales' },
      { id: 2, name: 'customers', database: 'sales' },
    ],
  });
};

/** Only the signature check of an RS256 bearer token: no parsing, no claims, no cache. */
function rsaVerifyOnly(publicKey: KeyObject): RequestHandler {
  return function rsaFloor(req, res, next) {
    const token = req.headers.authorization?.slice('Bearer '.length) ?? '';
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    if (dot > 0 && verify('sha256', Buffer.from(token.slice(0, dot)), publicKey, signature)) next();
    else res.status(401).end();
  };
}

/**
 * Only the signature check of the request's DPoP proof, with the public key its header carries:
 * the header decoded and parsed, the JWK imported, one ES256 `crypto.verify` on the event loop (as
 * the gate checks proofs). No claims, no thumbprint, no replay check.
 */
function dpopVerifyOnly(): RequestHandler {
  return function dpopFloor(req, res, next) {
    const proof = req.headers.dpop;
    const firstDot = typeof proof === 'string' ? proof.indexOf('.') : -1;
    const lastDot = typeof proof === 'string' ? proof.lastIndexOf('.') : -1;
    if (typeof proof !== 'string' || firstDot <= 0 || lastDot <= firstDot) {
      res.status(401).end();
      return;
    }
    try {
      const header = JSON.parse(Buffer.from(proof.slice(0, firstDot), 'base64url').toString()) as {
        jwk: JsonWebKey;
      };
      const key = createPublicKey({ key: header.jwk, format: 'jwk' });
      const signature = Buffer.from(proof.slice(lastDot + 1), 'base64url');
      const signed = Buffer.from(proof.slice(0, lastDot));
      if (verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) next();
      else res.status(401).end();
    } catch {
      res.status(401).end();
    }
  };
}

/** The same check on libuv's thread pool (`crypto.verify` with a callback). */
function rsaVerifyOffThread(publicKey: KeyObject): RequestHandler {
  return function rsaFloorOffThread(req, res, next) {
    const token = req.headers.authorization?.slice('Bearer '.length) ?? '';
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    if (dot <= 0) {
      res.status(401).end();
      return;
    }
    verify('sha256', Buffer.from(token.slice(0, dot)), publicKey, signature, (err, valid) => {
      if (err === null && valid) next();
      else res.status(401).end();
    });
  };
}

interface BuiltApp {
  app: Express;
  gate: JwtGate | null;
  startup: AppStartup | null;
}

async function buildApp(start: AppStartMessage): Promise<BuiltApp> {
  const app = express();
  const privateKey = createPrivateKey(start.selfPrivateKeyPem);
  if (start.mode === 'bare') {
    app.get('/api/v1/tables', listTables);
    return { app, gate: null, startup: null };
  }
  if (start.mode === 'noop') {
    app.use(function passThrough(_req, _res, next) {
      next();
    });
    app.get('/api/v1/tables', listTables);
    return { app, gate: null, startup: null };
  }
  if (start.mode === 'rsa-floor' || start.mode === 'rsa-floor-async') {
    const publicKey = createPublicKey(privateKey);
    app.use(start.mode === 'rsa-floor' ? rsaVerifyOnly(publicKey) : rsaVerifyOffThread(publicKey));
    app.get('/api/v1/tables', listTables);
    return { app, gate: null, startup: null };
  }
  if (start.mode === 'dpop-floor') {
    app.use(dpopVerifyOnly());
    app.get('/api/v1/tables', listTables);
    return { app, gate: null, startup: null };
  }
  if (start.mode === 'peer') {
    const app = await buildPeerApp(
      start.peer!,
      { jwksUri: start.jwksUri, issuer: SSO_ISSUER, audience: SSO_AUDIENCE },
      listTables,
    );
    return { app, gate: null, startup: null };
  }
  const gateStartedAt = Date.now();
  const gate = await createJwtGate(
    {
      jwtTokenConfiguration: { jwtissuer: SELF_ISSUER, keyId: start.selfKid },
      authenticationConfiguration: {
        provider: 'custom-oidc',
        authority: SSO_ISSUER,
        clientId: SSO_AUDIENCE,
        publicKeyUrls: [{ url: start.jwksUri, issuer: SSO_ISSUER, audience: SSO_AUDIENCE }],
      },
      verificationConfiguration: {
        cache: { enabled: true, maxEntries: start.cacheMaxEntries },
        engine: start.engine,
        offloadSignatures: start.offloadSignatures,
        jwks: { cooldownSeconds: start.cooldownSeconds },
      },
      // The real bot registry over the chosen store: the per-request bot check is the shipped one.
      database: {
        url: start.store === 'sqlite' ? `sqlite:${start.sqlitePath ?? sqliteFile()}` : 'memory:',
      },
    },
    { keySet: keySetFromPrivateKey(privateKey, start.selfKid) },
  );
  const startup: AppStartup = { gateStartedAt, gateReadyAt: Date.now() };
  app.use(gate.authenticate);
  app.get('/api/v1/tables', listTables);
  app.use(gate.errorHandler);
  return { app, gate, startup };
}

/** A fresh SQLite file for this app process, removed when it exits. */
function sqliteFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'bots.db');
}

/**
 * Creates `count` bots with a current one-day token each, as an admin would on the Bots page;
 * bound to the DPoP key `dpopJkt` when given.
 */
async function createBotTokens(gate: JwtGate, count: number, dpopJkt?: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-bot-${i}`;
    await gate.bots.createBot({ name }, 'bench');
    tokens.push((await gate.bots.generateToken(name, '1', 'bench', undefined, dpopJkt)).JWTToken);
  }
  return tokens;
}

/**
 * Issues one personal access token to each of `count` people, as each would on the Settings page
 * (`PUT /api/v1/users/security/token`): through the gate's service, so the store holds it and the
 * registry knows it live.
 */
async function createPersonalTokens(gate: JwtGate, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-person-${i}`;
    const person: Principal = {
      name,
      email: `${name}@open-metadata.org`,
      isBot: false,
      isAdmin: false,
      tokenType: 'OM_USER',
      issuer: SELF_ISSUER,
      subject: name,
      source: 'self',
      tokenId: null,
      scopes: [],
      expiresAt: null,
      claims: {},
    };
    const generated = await gate.personalTokens.generate(
      person,
      { tokenName: 'bench script', JWTTokenExpiry: '1' },
      name,
    );
    tokens.push(generated.JWTToken);
  }
  return tokens;
}

function remoteFetches(gate: JwtGate): number {
  return gate
    .health()
    .sources.filter((s) => s.kind === 'remote')
    .reduce((sum, s) => sum + s.fetchCount, 0);
}

function send(message: AppMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const start = await new Promise<AppStartMessage>((resolve) => {
    process.once('message', (message: RunnerMessage) => {
      if (message.type === 'start') resolve(message);
    });
  });
  const { app, gate, startup } = await buildApp(start);
  const issuedTokens = gate
    ? [
        ...(await createBotTokens(gate, start.bots, start.dpopJkt)),
        ...(await createPersonalTokens(gate, start.personalTokens)),
      ]
    : [];
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  let cpuAtReset = process.cpuUsage();
  let fetchesAtReset = gate ? remoteFetches(gate) : 0;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);

  process.on('message', (message: RunnerMessage) => {
    if (message.type === 'reset') {
      cpuAtReset = process.cpuUsage();
      fetchesAtReset = gate ? remoteFetches(gate) : 0;
      peakRss = process.memoryUsage.rss();
    } else if (message.type === 'stats') {
      const cpu = process.cpuUsage(cpuAtReset);
      const stats: AppStats = {
        cpuMicros: cpu.user + cpu.system,
        peakRssBytes: Math.max(peakRss, process.memoryUsage.rss()),
        jwksFetches: gate ? remoteFetches(gate) - fetchesAtReset : null,
        cacheMaxEntries: gate ? gate.config.verificationConfiguration.cache.maxEntries : null,
      };
      send({ type: 'stats', ...stats });
    } else if (message.type === 'memory') {
      const gc = (globalThis as { gc?: () => void }).gc;
      // Twice: the first collection's finalizers may free more on the second.
      gc?.();
      gc?.();
      const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
      send({
        type: 'memory',
        rssBytes: rss,
        heapUsedBytes: heapUsed,
        heapTotalBytes: heapTotal,
        externalBytes: external,
        collected: gc !== undefined,
      });
    }
  });
  // The runner is gone (finished, crashed or interrupted): never linger as an orphan.
  process.once('disconnect', () => {
    clearInterval(sampler);
    server.closeAllConnections();
    server.close();
    void (gate?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  send({ type: 'ready', port: (server.address() as AddressInfo).port, issuedTokens, startup });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
