/**
 * Our keys as JWKs, exactly as RFC 7517/7518 say: only public members, `n` and `e` as unpadded
 * base64url of the minimal big-endian bytes (RFC 7518 §6.3.1 — no leading zero "sign" byte, so
 * `e` is `AQAB`). Strict consumers reject anything else.
 */
import type { KeyObject } from 'node:crypto';
import type { RsaAlgorithm } from '../config/types.js';
import type { PublishedKey } from './key-set.js';

/** One entry of our JWKS. Members in this order. */
export interface RsaPublicJwk {
  kty: 'RSA';
  kid: string;
  use: 'sig';
  alg: RsaAlgorithm;
  n: string;
  e: string;
}

/**
 * The public JWK of a published key.
 *
 * @example
 * publicJwk(keys.published[0]); // { kty: 'RSA', kid: '…', use: 'sig', alg: 'RS256', n: '…', e: 'AQAB' }
 */
export function publicJwk(key: PublishedKey): RsaPublicJwk {
  const { n, e } = rsaMembers(key.publicKey);
  return { kty: 'RSA', kid: key.kid, use: 'sig', alg: key.alg, n, e };
}

/** The JWK Set document of `keys`, in order: `{ keys: [...] }`. */
export function publicJwks(keys: readonly PublishedKey[]): { keys: RsaPublicJwk[] } {
  return { keys: keys.map(publicJwk) };
}

/** `n` and `e` of an RSA public key, minimal and unpadded; a `TypeError` for any other key. */
export function rsaMembers(publicKey: KeyObject): { n: string; e: string } {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') {
    throw new TypeError(`expected an RSA public key, got ${publicKey.asymmetricKeyType ?? publicKey.type}`);
  }
  return { n: minimalBase64url(jwk.n), e: minimalBase64url(jwk.e) };
}

/**
 * Node already emits minimal unpadded base64url; re-encoding guards against a runtime that keeps a
 * sign byte or padding, which would change `n` on the wire and every thumbprint.
 */
function minimalBase64url(value: string): string {
  const bytes = Buffer.from(value, 'base64url');
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start).toString('base64url');
}
