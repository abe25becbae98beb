import { type KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import type { KeySet, PublishedKey, SigningKey } from '../../lib/keys/key-set.js';

/** RSA keys are slow to generate: one pair per name for the whole run. */
const pairs = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();

export function rsaPair(name = 'default', bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  const key = `${name}/${bits}`;
  let pair = pairs.get(key);
  if (pair === undefined) {
    pair = generateKeyPairSync('rsa', { modulusLength: bits });
    pairs.set(key, pair);
  }
  return pair;
}

/** A KeySet like `loadKeySet` returns, from generated keys (no files). */
export function testKeySet(kid = 'test-kid', name = 'self'): KeySet {
  const { privateKey, publicKey } = rsaPair(name);
  const signing: SigningKey = { kid, alg: 'RS256', privateKey, publicKey };
  const published: PublishedKey[] = [{ kid, alg: 'RS256', publicKey }];
  return { signing, published, byKid: new Map(published.map((k) => [k.kid, k])) };
}

export interface SignOptions {
  /** Header members; `alg` RS256 and `typ` JWT by default. */
  header?: Record<string, unknown>;
  /** Claims; `iat` now and `exp` in an hour are added unless given (use `undefined` to drop). */
  payload?: Record<string, unknown>;
  key?: KeyObject;
  /** Digest/algorithm used for the signature (independent of header.alg, for alg tricks). */
  signAlg?: 'RS256' | 'RS384' | 'RS512' | 'none';
  nowSeconds?: number;
}

/** Signs a compact JWS the way an IdP would; every part overridable, for attack cases too. */
export function signJwt(options: SignOptions = {}): string {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...options.header };
  const payload: Record<string, unknown> = { iat: now, exp: now + 3600, ...options.payload };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const input = `${b64(header)}.${b64(payload)}`;
  const signAlg = options.signAlg ?? (header.alg as SignOptions['signAlg']) ?? 'RS256';
  if (signAlg === 'none') return `${input}.`;
  const digest = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' }[signAlg ?? 'RS256'] ?? 'sha256';
  const signature = sign(digest, Buffer.from(input), options.key ?? rsaPair().privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
