/**
 * The server's own RSA keys, parsed once at start-up and held as `KeyObject`s so that signing and
 * verifying never re-parse PEM or DER.
 */
import type { KeyObject } from 'node:crypto';
import type { RsaAlgorithm } from '../config/types.js';

/** A key published in our JWKS and trusted for our own tokens. */
export interface PublishedKey {
  /** `kid` header value of tokens signed with this key. */
  readonly kid: string;
  /** Algorithm the key signs with (the JWK `alg`). */
  readonly alg: RsaAlgorithm;
  readonly publicKey: KeyObject;
}

/** The active key: signs every token we mint. */
export interface SigningKey extends PublishedKey {
  readonly privateKey: KeyObject;
}

/** Everything `loadKeySet()` returns; complete or not at all. */
export interface KeySet {
  readonly signing: SigningKey;
  /** The signing key first, then `additionalPublicKeys` in configured order. */
  readonly published: readonly PublishedKey[];
  /** `published` by `kid`. */
  readonly byKid: ReadonlyMap<string, PublishedKey>;
}
