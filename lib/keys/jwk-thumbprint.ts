/**
 * RFC 7638 JWK thumbprints (SHA-256, base64url): the hash of the key's required members only, in
 * lexicographic order, as JSON without whitespace. Our keys' `kid`s can be derived from it, and DPoP
 * binds a token to a key by it (`cnf.jkt`, RFC 9449 §6).
 */
import { createHash, KeyObject } from 'node:crypto';
import type { PublishedKey } from './key-set.js';
import { rsaMembers } from './public-jwk.js';

/** A public JWK, as far as its thumbprint is concerned. Other members are ignored. */
export interface ThumbprintJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** Required members per key type (RFC 7638 §3.2), already in lexicographic order. */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * The RFC 7638 SHA-256 thumbprint, base64url without padding, of a public JWK, or of one of our
 * RSA keys (a `PublishedKey` or an RSA `KeyObject`, its members as `publicJwk` writes them).
 *
 * @throws {TypeError} for a key type other than EC, OKP or RSA, a required member that is not a
 *   string, or a `KeyObject` that is not an RSA key.
 * @example
 * jwkThumbprint({ kty: 'EC', crv: 'P-256', x: '…', y: '…' }); // 43 base64url characters
 * jwkThumbprint(keys.published[0]);
 */
export function jwkThumbprint(key: ThumbprintJwk | PublishedKey | KeyObject): string {
  if (key instanceof KeyObject) return jwkThumbprint({ kty: 'RSA', ...rsaMembers(key) });
  if ('publicKey' in key) return jwkThumbprint({ kty: 'RSA', ...rsaMembers(key.publicKey) });
  const jwk = key;
  const members = REQUIRED_MEMBERS[jwk.kty];
  if (members === undefined) {
    throw new TypeError('A JWK thumbprint needs a key of type EC, OKP or RSA.');
  }
  const source = jwk as unknown as Record<string, unknown>;
  const required: Record<string, string> = {};
  for (const name of members) {
    const value = source[name];
    if (typeof value !== 'string') throw new TypeError(`The JWK has no "${name}" string.`);
    required[name] = value;
  }
  // JSON.stringify keeps insertion order and adds no whitespace (RFC 7638 §3.3).
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}
