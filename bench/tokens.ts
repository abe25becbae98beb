/**
 * Keys and tokens of the benchmark: our own tokens minted with the same code the gate uses, SSO
 * tokens signed the way an IdP signs them, and junk-`kid` tokens for the JWKS flood. Everything
 * is minted before any load runs, so signing never competes with the server for CPU.
 */
import { type KeyObject, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { TokenType } from '../lib/config/types.js';
import type { KeySet, PublishedKey, SigningKey } from '../lib/keys/key-set.js';
import { mintToken } from '../lib/tokens/mint-token.js';

/** `jwtTokenConfiguration` of the bench gate (the reference's issuer, our default audience). */
export const SELF_ISSUER = 'open-metadata.org';
export const SELF_AUDIENCE = 'jwt-gate';
export const SELF_KID = 'bench-self-1';
/** The bench SSO: issuer and audience its tokens carry, `kid` of its published key. */
export const SSO_ISSUER = 'http://sso.bench.test';
export const SSO_AUDIENCE = 'bench-client';
export const SSO_KID = 'bench-sso-1';

interface RsaPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The three RSA-2048 pairs: ours, the SSO's, and an attacker's (signs the flood tokens). */
export interface BenchKeys {
  self: RsaPair;
  sso: RsaPair;
  rogue: RsaPair;
}

export function generateBenchKeys(): BenchKeys {
  const pair = (): RsaPair => generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { self: pair(), sso: pair(), rogue: pair() };
}

/** A `KeySet` as `loadKeySet` returns it, from an in-memory private key (the child's `deps.keySet`). */
export function keySetFromPrivateKey(privateKey: KeyObject, kid: string): KeySet {
  const publicKey = createPublicKey(privateKey);
  const signing: SigningKey = { kid, alg: 'RS256', privateKey, publicKey };
  const published: PublishedKey[] = [{ kid, alg: 'RS256', publicKey }];
  return { signing, published, byKid: new Map(published.map((k) => [k.kid, k])) };
}

/** The JWKS document the bench SSO publishes. */
export function ssoJwks(keys: BenchKeys): { keys: Record<string, unknown>[] } {
  return {
    keys: [{ ...keys.sso.publicKey.export({ format: 'jwk' }), kid: SSO_KID, alg: 'RS256', use: 'sig' }],
  };
}

/**
 * `count` tokens of ours, each for a different subject (so each is a different string). Not for
 * `BOT` or `PERSONAL_ACCESS` tokens: those count only once the gate's store has issued them.
 */
export function mintOwnTokens(
  keys: BenchKeys,
  count: number,
  tokenType: Exclude<TokenType, 'BOT' | 'PERSONAL_ACCESS'>,
): string[] {
  const key = keySetFromPrivateKey(keys.self.privateKey, SELF_KID).signing;
  const now = Date.now();
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const subject = `bench-user-${i}`;
    const minted = mintToken(
      { issuer: SELF_ISSUER, audience: SELF_AUDIENCE, key },
      { subject, email: `${subject}@open-metadata.org`, isBot: false, tokenType, expiry: '1' },
      now,
    );
    tokens.push(minted.token);
  }
  return tokens;
}

/** `count` SSO tokens, as an OIDC provider issues ID/access tokens: `iss`, `aud`, `sub`, `email`, one hour. */
export function signSsoTokens(keys: BenchKeys, count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      signRs256(
        { kid: SSO_KID },
        { iss: SSO_ISSUER, aud: SSO_AUDIENCE, sub: `sso-user-${i}`, email: `sso-user-${i}@example.com` },
        keys.sso.privateKey,
      ),
    );
  }
  return tokens;
}

/**
 * `count` tokens that name the SSO issuer but a random, unknown `kid`, signed with a key the SSO
 * never published: what an attacker sends to make the gate hammer the key server.
 */
export function signUnknownKidTokens(keys: BenchKeys, count: number): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      signRs256(
        { kid: randomBytes(12).toString('base64url') },
        { iss: SSO_ISSUER, aud: SSO_AUDIENCE, sub: `intruder-${i}`, email: 'intruder@example.com' },
        keys.rogue.privateKey,
      ),
    );
  }
  return tokens;
}

function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'RS256', typ: 'JWT', ...header });
  const body = b64({ ...claims, iat, exp: iat + 3600 });
  const input = `${head}.${body}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
