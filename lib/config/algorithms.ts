/** Algorithms we mint with (RSA PKCS#1 v1.5). */
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512'] as const;

/** Every algorithm jwt-gate verifies: asymmetric only — never `none`, never HS* (RFC 8725 §3.1). */
export const ASYMMETRIC_ALGORITHMS = [
  ...RSA_ALGORITHMS,
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/**
 * Smallest RSA modulus accepted anywhere, in bits: our own keys, keys fetched from a JWKS, and the
 * key of every RSA signature checked (RFC 7518 §3.3 requires 2048; NIST SP 800-131A).
 */
export const MIN_RSA_BITS = 2048;

/** Algorithms a DPoP proof (RFC 9449) may be signed with. Never `none`, never HS*. */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** `ASYMMETRIC_ALGORITHMS` as a set, for per-request lookups. */
export const ASYMMETRIC_ALGORITHM_SET: ReadonlySet<string> = new Set(ASYMMETRIC_ALGORITHMS);
