/**
 * An app the way a user wires jwt-gate with the bot API, plus a real SSO JWKS server for admin and
 * non-admin people, for the bot tests:
 *
 *   const sso = await startSso();
 *   const { app, gate } = await startBotApp(sso, { store: new MemoryStore() });
 *   await request(app).put('/api/v1/bots/x/token').set(bearer(sso.token('admin'))).send({ JWTTokenExpiry: '7' });
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express } from 'express';
import { generateKeyFiles } from '../../lib/keys/generate-key-files.js';
import type { JwtGateOptions, ResolvedConfig } from '../../lib/config/types.js';
import { createJwtGate, type JwtGate, type JwtGateDependencies } from '../../lib/gate.js';
import { type JwksServer, publicJwk, startJwksServer } from './jwks-server.js';
import { rsaPair, signJwt, testKeySet } from './tokens.js';

export const ISSUER = 'open-metadata.org';
export const SSO_ISSUER = 'http://sso.test';
export const SSO_AUDIENCE = 'bots-page';
/** In `adminPrincipals`: `admin` (a person) and `ops-bot` (a bot, which must still never pass). */
export const ADMINS = ['admin', 'ops-bot'];

export interface SsoFixture {
  readonly server: JwksServer;
  /** An SSO ID token of `<name>@example.com`, valid for an hour. */
  token(name: string): string;
  /** An SSO token with these claims (`iss` and `aud` added unless given). */
  sign(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

export async function startSso(): Promise<SsoFixture> {
  const key = rsaPair('sso');
  const server = await startJwksServer({
    keys: { keys: [publicJwk(key.publicKey, { kid: 'sso-1', alg: 'RS256', use: 'sig' })] },
  });
  const sign = (claims: Record<string, unknown>): string =>
    signJwt({
      header: { kid: 'sso-1' },
      payload: { iss: SSO_ISSUER, aud: SSO_AUDIENCE, ...claims },
      key: key.privateKey,
    });
  return {
    server,
    token: (name) => sign({ sub: `id-${name}`, email: `${name}@example.com` }),
    sign,
    close: () => server.close(),
  };
}

/** The gate options of the bot tests: our own tokens, the SSO above, `admin` and `ops-bot` admins. */
export function botGateOptions(sso: SsoFixture, databaseUrl = 'memory:'): JwtGateOptions {
  return {
    jwtTokenConfiguration: { jwtissuer: ISSUER, keyId: 'test-kid' },
    authenticationConfiguration: {
      provider: 'custom-oidc',
      publicKeyUrls: [sso.server.jwksUri],
      authority: SSO_ISSUER,
      clientId: SSO_AUDIENCE,
    },
    authorizerConfiguration: { adminPrincipals: ADMINS, principalDomain: 'example.com' },
    database: { url: databaseUrl },
    botConfiguration: { defaultBots: ['ingestion-bot'] },
  };
}

export interface BotApp {
  app: Express;
  gate: JwtGate;
}

/**
 * public routers → `gate.authenticate` → `gate.botsRouter` → `gate.personalTokensRouter` → a protected `GET /api/v1/tables`
 * answering the principal → `gate.errorHandler`. Keys: `testKeySet()` unless `config` is resolved.
 */
export async function startBotApp(
  sso: SsoFixture,
  deps: JwtGateDependencies = {},
  config: JwtGateOptions | ResolvedConfig = botGateOptions(sso),
): Promise<BotApp> {
  const gate = await createJwtGate(config, 'provenance' in config ? deps : { keySet: testKeySet(), ...deps });
  const app = express();
  app.use(gate.publicRouter);
  app.use(gate.authenticate);
  app.use(gate.botsRouter);
  app.use(gate.personalTokensRouter);
  app.get('/api/v1/tables', (req, res) => {
    res.json({ data: [], principal: req.user });
  });
  app.use(gate.errorHandler);
  return { app, gate };
}

/** `Authorization: Bearer <token>` as a supertest `.set()` argument. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** Polls `probe` every 20 ms until it holds; rejects after `timeoutMs`. Resolves to the time taken. */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 3000,
  what = 'condition',
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Writes `<dir>/keys/*` (a fresh key pair) and `<dir>/jwt-gate.yaml` naming them, the SSO above and
 * `databaseUrl` (relative sqlite paths resolve against `dir`) — what the app and the CLI both read.
 * Returns the YAML's path.
 */
export async function writeBotConfig(dir: string, sso: SsoFixture, databaseUrl: string): Promise<string> {
  await generateKeyFiles(join(dir, 'keys'));
  const path = join(dir, 'jwt-gate.yaml');
  writeFileSync(
    path,
    [
      'jwtTokenConfiguration:',
      '  rsapublicKeyFilePath: ./keys/public_key.der',
      '  rsaprivateKeyFilePath: ./keys/private_key.der',
      `  jwtissuer: ${ISSUER}`,
      '  keyId: test-kid',
      'authenticationConfiguration:',
      '  provider: custom-oidc',
      `  publicKeyUrls: [${sso.server.jwksUri}]`,
      `  authority: ${SSO_ISSUER}`,
      `  clientId: ${SSO_AUDIENCE}`,
      'authorizerConfiguration:',
      `  adminPrincipals: [${ADMINS.join(', ')}]`,
      '  principalDomain: example.com',
      'database:',
      `  url: ${JSON.stringify(databaseUrl)}`,
      'botConfiguration:',
      '  defaultBots: [ingestion-bot]',
      '',
    ].join('\n'),
  );
  return path;
}
