/**
 * Turns the raw `keys` of a JWKS into parsed public `KeyObject`s fit to verify tokens of one
 * source. Anything unfit is skipped, not an error: key servers routinely publish encryption keys
 * and keys for other algorithms next to the signing keys we need.
 */
import { createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { MIN_RSA_BITS } from '../../config/algorithms.js';
import type { AsymmetricAlgorithm } from '../../config/types.js';

/** A key ready for verification. */
export interface VerificationKey {
  /** `kid` of the JWK; `undefined` when the JWK has none. */
  readonly kid: string | undefined;
  /** The parsed public key. */
  readonly key: KeyObject;
  /** Token `alg` values this key may verify: the JWK's `alg`, or every source algorithm that fits the key type. */
  readonly algorithms: ReadonlySet<string>;
}

/** Result of importing one JWKS. */
export interface ImportedKeys {
  keys: VerificationKey[];
  /** Entries skipped as unfit (encryption, symmetric, weak, wrong alg, private, duplicate…). */
  ignored: number;
}

const RSA_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_ALGORITHM_BY_CURVE: Readonly<Record<string, string>> = {
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
};
/** RFC 7518 §6.2.2 / §6.3.2: members whose presence means the JWK carries private material. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Parses `entries` (the JWKS `keys` array), keeping at most `maxKeys` usable keys; the first key
 * of a duplicated `kid` wins. A key carrying private members is ignored altogether: once a
 * private key has been published, anyone can sign with it.
 */
export function importVerificationKeys(
  entries: readonly unknown[],
  sourceAlgorithms: readonly AsymmetricAlgorithm[],
  maxKeys: number,
): ImportedKeys {
  const keys: VerificationKey[] = [];
  const seenKids = new Set<string>();
  let ignored = 0;
  for (const entry of entries) {
    if (keys.length >= maxKeys) {
      ignored++;
      continue;
    }
    const key = importOne(entry, sourceAlgorithms);
    if (key === undefined || (key.kid !== undefined && seenKids.has(key.kid))) {
      ignored++;
      continue;
    }
    if (key.kid !== undefined) seenKids.add(key.kid);
    keys.push(key);
  }
  return { keys, ignored };
}

function importOne(entry: unknown, sourceAlgorithms: readonly string[]): VerificationKey | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const jwk = entry as Record<string, unknown>;

  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return undefined;
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return undefined;
  if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '')) return undefined;
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') return undefined;

  const fitting = algorithmsForKeyType(jwk);
  const wanted = jwk.alg === undefined ? sourceAlgorithms : [jwk.alg];
  const algorithms = new Set(wanted.filter((alg) => fitting.includes(alg) && sourceAlgorithms.includes(alg)));
  if (algorithms.size === 0) return undefined;

  const key = parsePublicKey(jwk);
  if (key === undefined) return undefined;
  if (jwk.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return undefined;
  return { kid: jwk.kid, key, algorithms };
}

/** Algorithms a key of this `kty` (and curve) can verify; empty for symmetric or unknown types. */
function algorithmsForKeyType(jwk: Record<string, unknown>): readonly string[] {
  if (jwk.kty === 'RSA') return RSA_ALGORITHMS;
  if (jwk.kty === 'EC' && typeof jwk.crv === 'string') {
    const alg = EC_ALGORITHM_BY_CURVE[jwk.crv];
    return alg === undefined ? [] : [alg];
  }
  return [];
}

/** Builds the key from its public members only, so nothing else of the JWK is ever retained. */
function parsePublicKey(jwk: Record<string, unknown>): KeyObject | undefined {
  const publicJwk =
    jwk.kty === 'RSA' ? { kty: 'RSA', n: jwk.n, e: jwk.e } : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  if (Object.values(publicJwk).some((value) => typeof value !== 'string' || value === '')) return undefined;
  try {
    const key = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' });
    return key.type === 'public' ? key : undefined;
  } catch {
    // Malformed base64url, a point not on the curve…: not usable material.
    return undefined;
  }
}
