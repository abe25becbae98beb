import type { KeyObject } from 'node:crypto';
import { InvalidTokenError } from '../errors.js';
import type { KeySet } from '../keys/key-set.js';
import type { KeySource, KeySourceHealth } from './key-source.js';

/**
 * Our own keys (the active signing key and the ones kept for rotation): verified from the
 * in-memory key objects, never over HTTP — also when our own JWKS URL is listed in
 * `publicKeyUrls`, as the reference documentation tells users to do.
 */
export function createSelfKeySource(keySet: KeySet, issuer: string, audience: string): KeySource {
  const algorithms = [...new Set(keySet.published.map((k) => k.alg))];
  const onlyKey = keySet.published.length === 1 ? keySet.published[0] : undefined;

  function lookup(kid: string | undefined, alg: string): KeyObject | undefined {
    const key = kid === undefined ? onlyKey : keySet.byKid.get(kid);
    return key !== undefined && key.alg === alg ? key.publicKey : undefined;
  }

  return {
    name: 'self',
    kind: 'self',
    issuers: [issuer],
    audiences: [audience],
    algorithms,
    requireExp: false,
    getKeySync: lookup,
    getKey(kid, alg) {
      const key = lookup(kid, alg);
      if (key !== undefined) return Promise.resolve(key);
      return Promise.reject(
        new InvalidTokenError(
          'ERR_TOKEN_KEY_UNKNOWN',
          'The token was signed with a key this server does not publish.',
        ),
      );
    },
    onKeysChanged: () => () => {},
    prefetch: () => Promise.resolve(),
    health(): KeySourceHealth {
      return {
        name: 'self',
        kind: 'self',
        healthy: true,
        keyCount: keySet.published.length,
        keysAgeSeconds: 0,
        lastError: null,
        fetchCount: 0,
        stale: false,
      };
    },
    close() {},
  };
}
