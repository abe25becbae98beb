/**
 * The middleware alone, without HTTP: µs per call of `gate.authenticate` on fake requests, for a
 * hot token and for distinct tokens with signatures checked on the event loop (cache misses), next
 * to one bare `crypto.verify` — the difference is jwt-gate's own work on a miss.
 *
 *   npx tsx bench/micro.ts
 */
import { verify } from 'node:crypto';
import { createJwtGate } from '../lib/gate.js';
import { startBenchJwksServer } from './jwks-server.js';
import {
  SELF_ISSUER,
  SELF_KID,
  SSO_AUDIENCE,
  SSO_ISSUER,
  generateBenchKeys,
  keySetFromPrivateKey,
  mintOwnTokens,
  signSsoTokens,
  ssoJwks,
} from './tokens.js';

const DISTINCT = 5000;
const CALLS = 40_000;

const keys = generateBenchKeys();
const tokens = mintOwnTokens(keys, DISTINCT, 'OM_USER');
const ssoTokens = signSsoTokens(keys, DISTINCT);
const jwks = await startBenchJwksServer(ssoJwks(keys));
const gate = await createJwtGate(
  {
    jwtTokenConfiguration: { jwtissuer: SELF_ISSUER, keyId: SELF_KID },
    authenticationConfiguration: {
      provider: 'custom-oidc',
      authority: SSO_ISSUER,
      clientId: SSO_AUDIENCE,
      publicKeyUrls: [{ url: jwks.jwksUri, issuer: SSO_ISSUER, audience: SSO_AUDIENCE }],
    },
    // A cache far smaller than the rotation, so every distinct token arrives as never seen before.
    verificationConfiguration: { cache: { enabled: true, maxEntries: 256 }, offloadSignatures: false },
    database: { url: 'memory:' },
  },
  { keySet: keySetFromPrivateKey(keys.self.privateKey, SELF_KID) },
);

function perCall(name: string, fn: (i: number) => void): number {
  for (let i = 0; i < 5000; i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn(i);
  const micros = Number(process.hrtime.bigint() - start) / 1e3 / CALLS;
  console.log(`${name.padEnd(34)} ${micros.toFixed(2).padStart(7)} µs`);
  return micros;
}

const res = {} as never;
let failures = 0;
const next = (err?: unknown): void => {
  if (err) failures++;
};
/** One kept-alive connection, as in the HTTP bench. */
const socket = {};
const call = (token: string): void => {
  const req = {
    socket,
    method: 'GET',
    url: '/api/v1/tables',
    originalUrl: '/api/v1/tables',
    headers: { authorization: `Bearer ${token}` },
  };
  gate.authenticate(req as never, res, next);
};
const hot = perCall('authenticate, one hot token', () => call(tokens[0]!));
const miss = perCall('authenticate, distinct (cache miss)', (i) => call(tokens[i % DISTINCT]!));
const ssoMiss = perCall('authenticate, distinct SSO tokens', (i) => call(ssoTokens[i % DISTINCT]!));
const parts = tokens.map((t) => {
  const dot = t.lastIndexOf('.');
  return { input: Buffer.from(t.slice(0, dot)), signature: Buffer.from(t.slice(dot + 1), 'base64url') };
});
const rsa = perCall('crypto.verify alone', (i) => {
  const { input, signature } = parts[i % DISTINCT]!;
  verify('sha256', input, keys.self.publicKey, signature);
});
console.log(`${'jwt-gate work on a miss, besides RSA'.padEnd(34)} ${(miss - rsa).toFixed(2).padStart(7)} µs`);
console.log(`${"… on an SSO token's miss".padEnd(34)} ${(ssoMiss - rsa).toFixed(2).padStart(7)} µs`);
console.log(`(hot ${hot.toFixed(2)} µs; ${failures} failures)`);
await gate.close();
await jwks.close();
