/**
 * The public key a DPoP proof carries in its `jwk` header (RFC 9449 §4.2), checked against the
 * proof's `alg` before any use: the right key type and curve, RSA of 2048–8192 bits with a small
 * exponent, no private member, and canonical members, so that one key has exactly one thumbprint.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import { DPOP_ALGORITHMS, type DpopAlgorithm, MIN_RSA_BITS } from '../config/algorithms.js';
import { DpopProofError } from '../errors.js';
import { type ThumbprintJwk, jwkThumbprint } from '../keys/jwk-thumbprint.js';

export { DPOP_ALGORITHMS, type DpopAlgorithm };

/** Largest RSA modulus accepted, bits: bounds the cost of one verification. */
const MAX_RSA_BITS = 8192;
/** Largest RSA public exponent accepted (65537 in practice): a huge `e` makes verifying slow. */
const MAX_RSA_EXPONENT = 2n ** 32n;

/**
 * Keys already imported, by their exact public members: a client sends the same key with every
 * proof, and importing it (and checking its canonical form) costs more than verifying the
 * signature. Bounded; the least recently used goes first.
 */
const IMPORTED = new Map<string, ProofKey>();
const MAX_IMPORTED = 1024;

/** Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The members of the public key per algorithm, and the fixed ones. */
const SHAPES: Readonly<
  Record<DpopAlgorithm, { kty: string; crv?: readonly string[]; members: readonly string[] }>
> = {
  ES256: { kty: 'EC', crv: ['P-256'], members: ['x', 'y'] },
  EdDSA: { kty: 'OKP', crv: ['Ed25519', 'Ed448'], members: ['x'] },
  RS256: { kty: 'RSA', members: ['n', 'e'] },
  PS256: { kty: 'RSA', members: ['n', 'e'] },
};

export interface ProofKey {
  key: KeyObject;
  /** RFC 7638 thumbprint of the key. */
  jkt: string;
}

/** Checks the `jwk` header of a proof signed with `alg` and returns the key and its thumbprint. */
export function proofKey(alg: DpopAlgorithm, jwk: unknown): ProofKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw invalid('The DPoP proof\'s header has no "jwk" object.');
  }
  const raw = jwk as Record<string, unknown>;
  for (const name of PRIVATE_MEMBERS) {
    if (Object.hasOwn(raw, name)) {
      throw invalid('The DPoP proof\'s "jwk" holds private key material; send the public key only.');
    }
  }
  const shape = SHAPES[alg];
  if (raw.kty !== shape.kty) {
    throw invalid(`The DPoP proof's "jwk" must be an ${shape.kty} key for ${alg}.`);
  }
  const publicJwk: Record<string, string> = { kty: shape.kty };
  if (shape.crv !== undefined) {
    if (typeof raw.crv !== 'string' || !shape.crv.includes(raw.crv)) {
      throw invalid(`The DPoP proof's "jwk" must be on curve ${shape.crv.join(' or ')} for ${alg}.`);
    }
    publicJwk.crv = raw.crv;
  }
  for (const name of shape.members) {
    const value = raw[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw invalid(`The DPoP proof's "jwk" has no "${name}" string.`);
    }
    publicJwk[name] = value;
  }
  // JSON of the checked members in a fixed order: one string per key, and no two keys share one.
  const id = JSON.stringify([alg, publicJwk]);
  const known = IMPORTED.get(id);
  if (known !== undefined) {
    IMPORTED.delete(id);
    IMPORTED.set(id, known);
    return known;
  }
  const imported = importProofKey(shape, publicJwk);
  if (IMPORTED.size >= MAX_IMPORTED) IMPORTED.delete(IMPORTED.keys().next().value!);
  IMPORTED.set(id, imported);
  return imported;
}

/** Imports the members checked by `proofKey`; refuses a key that is not valid or not canonical. */
function importProofKey(shape: (typeof SHAPES)[DpopAlgorithm], publicJwk: Record<string, string>): ProofKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk, format: 'jwk' });
  } catch (cause) {
    throw invalid('The DPoP proof\'s "jwk" is not a valid public key.', cause);
  }
  if (shape.kty === 'RSA') checkRsaSize(key);
  // Node exports the canonical form: EC coordinates at full length, RSA integers minimal
  // (RFC 7518 §6.2.1.2, §6.3.1). Anything else would give the same key a second thumbprint.
  const exported = key.export({ format: 'jwk' }) as Record<string, unknown>;
  for (const name of shape.members) {
    if (exported[name] !== publicJwk[name]) {
      throw invalid(`The DPoP proof's "jwk" member "${name}" is not in canonical base64url form.`);
    }
  }
  return { key, jkt: jwkThumbprint(publicJwk as unknown as ThumbprintJwk) };
}

function checkRsaSize(key: KeyObject): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const exponent = key.asymmetricKeyDetails?.publicExponent ?? 0n;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw invalid(`The DPoP proof's RSA key must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits.`);
  }
  if (exponent < 3n || exponent > MAX_RSA_EXPONENT) {
    throw invalid("The DPoP proof's RSA key has an unsupported public exponent.");
  }
}

function invalid(description: string, cause?: unknown): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', description, cause === undefined ? undefined : { cause });
}
