/**
 * JWS signature verification with node:crypto (RFC 7518 §3.3–3.5). The algorithm decides which
 * kind of key may be used, and the key must be of that kind: an RSA key of at least MIN_RSA_BITS
 * (2048) for RS* and PS*, an EC key on the algorithm's curve for ES*. Symmetric (HS*) algorithms and
 * secret keys are never used, so a public key can never be mistaken for an HMAC secret (RFC 8725 §2.1).
 */

import { type KeyObject, type VerifyKeyObjectInput, constants, verify } from 'node:crypto';
import { MIN_RSA_BITS } from '../config/algorithms.js';

interface RsaRule {
  readonly family: 'rsa';
  readonly hash: string;
  /** PSS salt length in bytes (= digest length, RFC 7518 §3.5), or undefined for PKCS#1 v1.5. */
  readonly pssSaltLength: number | undefined;
}

interface EcRule {
  readonly family: 'ec';
  readonly hash: string;
  readonly curve: string;
  /** Length of the raw `r || s` signature, bytes (RFC 7518 §3.4). */
  readonly signatureLength: number;
}

const RULES: ReadonlyMap<string, RsaRule | EcRule> = new Map<string, RsaRule | EcRule>([
  ['RS256', { family: 'rsa', hash: 'sha256', pssSaltLength: undefined }],
  ['RS384', { family: 'rsa', hash: 'sha384', pssSaltLength: undefined }],
  ['RS512', { family: 'rsa', hash: 'sha512', pssSaltLength: undefined }],
  ['PS256', { family: 'rsa', hash: 'sha256', pssSaltLength: 32 }],
  ['PS384', { family: 'rsa', hash: 'sha384', pssSaltLength: 48 }],
  ['PS512', { family: 'rsa', hash: 'sha512', pssSaltLength: 64 }],
  ['ES256', { family: 'ec', hash: 'sha256', curve: 'prime256v1', signatureLength: 64 }],
  ['ES384', { family: 'ec', hash: 'sha384', curve: 'secp384r1', signatureLength: 96 }],
  ['ES512', { family: 'ec', hash: 'sha512', curve: 'secp521r1', signatureLength: 132 }],
]);

/** One `crypto.verify` call, once the algorithm, key and signature passed every rule. */
interface VerifyCall {
  readonly hash: string;
  readonly data: Buffer;
  readonly key: KeyObject | VerifyKeyObjectInput;
  readonly signature: Buffer;
}

/**
 * Whether `signature` is a valid `alg` signature of `signingInput` under `key`. Returns `false`,
 * never throws, for an unknown or symmetric `alg`, a key of the wrong type, curve or size, a
 * signature of the wrong length, or a signature that does not verify.
 *
 * @param alg - The token header's `alg` (RS256/384/512, PS256/384/512, ES256/384/512).
 * @param signingInput - `base64url(header) + "." + base64url(payload)`, as in the token.
 * @param signature - The decoded signature (raw `r || s` for ES*).
 * @param key - A parsed public key (`crypto.createPublicKey`); a secret key is always refused.
 * @example
 * if (!verifySignature(header.alg, signingInput, signature, key)) throw new InvalidTokenError(…);
 */
export function verifySignature(
  alg: string,
  signingInput: string,
  signature: Buffer,
  key: KeyObject,
): boolean {
  const call = prepareVerify(alg, signingInput, signature, key);
  if (call === null) return false;
  try {
    return verify(call.hash, call.data, call.key, call.signature);
  } catch {
    // OpenSSL errors (e.g. an RSA-PSS key restricted to another hash) mean "does not verify".
    return false;
  }
}

/**
 * {@link verifySignature} on libuv's thread pool (`crypto.verify` with a callback): the same
 * rules, but the RSA or ECDSA arithmetic runs off the event loop, which meanwhile serves other
 * requests. `done` gets `false` at once (synchronously) when a rule already refuses the token.
 *
 * @example
 * verifySignatureOffThread(header.alg, signingInput, signature, key, (valid) => …);
 */
export function verifySignatureOffThread(
  alg: string,
  signingInput: string,
  signature: Buffer,
  key: KeyObject,
  done: (valid: boolean) => void,
): void {
  const call = prepareVerify(alg, signingInput, signature, key);
  if (call === null) {
    done(false);
    return;
  }
  try {
    verify(call.hash, call.data, call.key, call.signature, (err, valid) => done(err === null && valid));
  } catch {
    done(false);
  }
}

/** The `crypto.verify` call for this algorithm and key, or null when a rule refuses them. */
function prepareVerify(
  alg: string,
  signingInput: string,
  signature: Buffer,
  key: KeyObject,
): VerifyCall | null {
  const rule = RULES.get(alg);
  if (rule === undefined || key.type === 'secret') return null;
  return rule.family === 'rsa'
    ? prepareRsa(rule, signingInput, signature, key)
    : prepareEc(rule, signingInput, signature, key);
}

function prepareRsa(
  rule: RsaRule,
  signingInput: string,
  signature: Buffer,
  key: KeyObject,
): VerifyCall | null {
  const type = key.asymmetricKeyType;
  // An "rsa-pss" key may only make PSS signatures (RFC 8017 §8.1 key restriction).
  if (type !== 'rsa' && !(type === 'rsa-pss' && rule.pssSaltLength !== undefined)) return null;
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined || bits < MIN_RSA_BITS) return null;
  // RFC 8017 §8.2.2 / §8.1.2: the signature is exactly as long as the modulus.
  if (signature.length !== Math.ceil(bits / 8)) return null;
  const data = Buffer.from(signingInput, 'utf8');
  if (rule.pssSaltLength === undefined) return { hash: rule.hash, data, key, signature };
  return {
    hash: rule.hash,
    data,
    key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: rule.pssSaltLength },
    signature,
  };
}

function prepareEc(rule: EcRule, signingInput: string, signature: Buffer, key: KeyObject): VerifyCall | null {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== rule.curve) return null;
  // A DER signature, or one padded or truncated, is not a JWS signature (RFC 7518 §3.4).
  if (signature.length !== rule.signatureLength) return null;
  const data = Buffer.from(signingInput, 'utf8');
  return { hash: rule.hash, data, key: { key, dsaEncoding: 'ieee-p1363' }, signature };
}
