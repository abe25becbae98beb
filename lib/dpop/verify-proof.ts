/**
 * Verification of a DPoP proof (RFC 9449 §4.3): a pure, synchronous check of one `DPoP` header
 * value against the request it came with. No I/O: the caller does the replay check with the
 * returned `replayKey` and `replayUntil` (§11.1), and the binding check `cnf.jkt === jkt` (§6.1).
 */
import { createHash, timingSafeEqual, verify } from 'node:crypto';
import { ConfigError, DpopProofError } from '../errors.js';
import { verifySignature } from '../keys/verify-signature.js';
import { DPOP_ALGORITHMS, type DpopAlgorithm, proofKey } from './proof-key.js';

export { DPOP_ALGORITHMS, type DpopAlgorithm } from './proof-key.js';

/** The request a proof must match. */
export interface DpopRequest {
  /** The HTTP method, exactly as received (`GET`, `POST`…); compared case-sensitively. */
  method: string;
  /** The request URL (see `requestHtu`); its query and fragment are ignored. */
  htu: string;
  /** The access token sent with the proof (`Authorization: DPoP <token>`); then `ath` is required. */
  accessToken?: string;
}

/** What a server's nonce policy says about a proof's `nonce` (RFC 9449 §8). */
export type DpopNonceVerdict = 'valid' | 'missing' | 'invalid';

export interface DpopProofOptions {
  /** Accepted `alg` values, a subset of `DPOP_ALGORITHMS`. Default: all of them. */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof may be, seconds, after `iat`. Default 60. */
  maxAgeSeconds?: number;
  /** Tolerated clock difference, seconds, both ways. Default 5. */
  clockSkewSeconds?: number;
  /** Largest accepted proof, bytes (= characters: a valid proof is ASCII). Default 8192. */
  maxBytes?: number;
  /** The clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /**
   * The server's nonce policy (RFC 9449 §8), given the proof's `nonce` (undefined when absent).
   * `missing`/`invalid` give a `use_dpop_nonce` error; the caller then sends a fresh `DPoP-Nonce`.
   * Default: no nonce is required (any `nonce` is ignored).
   */
  nonce?: (value: string | undefined) => DpopNonceVerdict;
}

/** A verified proof. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof's key: must equal the token's `cnf.jkt`. */
  jkt: string;
  jti: string;
  /** `iat` of the proof, seconds since the epoch. */
  iat: number;
  /** `base64url(SHA-256(jkt + "." + jti))`: the key to claim in a replay cache. */
  replayKey: string;
  /** Until when, epoch milliseconds, the proof would be accepted: keep `replayKey` that long. */
  replayUntil: number;
}

/** A proof verifier with its options checked once (`createDpopProofVerifier`). */
export type DpopProofVerifier = (proof: string, req: DpopRequest) => VerifiedDpopProof;

const MAX_JTI_LENGTH = 256;
const SIGNATURE_LENGTHS: Readonly<Record<string, number>> = { ed25519: 64, ed448: 114 };
const BASE64URL_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks the options once and returns the verifier. Use it at start-up; `verifyDpopProof` is the
 * same check with options read per call.
 *
 * @throws {ConfigError} naming the option that is wrong.
 * @example
 * const verifyProof = createDpopProofVerifier({ algorithms: ['ES256'] });
 * const { jkt, replayKey, replayUntil } = verifyProof(req.get('DPoP'), { method: req.method, htu, accessToken });
 */
export function createDpopProofVerifier(options: DpopProofOptions = {}): DpopProofVerifier {
  const algorithms = new Set<string>(options.algorithms ?? DPOP_ALGORITHMS);
  if (algorithms.size === 0) throw new ConfigError('dpop algorithms: name at least one algorithm.');
  for (const alg of algorithms) {
    if (!(DPOP_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new ConfigError(`dpop algorithms: "${alg}" is not supported; use ${DPOP_ALGORITHMS.join(', ')}.`);
    }
  }
  const maxAge = positive('maxAgeSeconds', options.maxAgeSeconds ?? 60);
  const skew = positive('clockSkewSeconds', options.clockSkewSeconds ?? 5, true);
  const maxBytes = positive('maxBytes', options.maxBytes ?? 8192);
  const now = options.now ?? Date.now;
  const noncePolicy = options.nonce;
  const algs = [...algorithms];

  return function verifyProof(proof, req) {
    try {
      const parsed = parse(proof, maxBytes);
      const alg = parsed.header.alg;
      if (typeof alg !== 'string' || !algorithms.has(alg)) throw algNotAllowed(alg, algs);
      const { key, jkt } = proofKey(alg as DpopAlgorithm, parsed.header.jwk);
      const claims = checkClaims(parsed.payload, req, now() / 1000, maxAge, skew);
      if (!signatureValid(alg, parsed.signingInput, parsed.signature, key)) {
        throw invalid('The DPoP proof\'s signature does not verify with its "jwk".');
      }
      // Last: an otherwise valid proof without the current nonce is worth a retry, nothing else is.
      if (noncePolicy !== undefined) checkNonce(noncePolicy, parsed.payload.nonce);
      return {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
        replayKey: createHash('sha256').update(`${jkt}.${claims.jti}`).digest('base64url'),
        replayUntil: Math.ceil((claims.iat + maxAge + skew) * 1000),
      };
    } catch (err) {
      if (err instanceof DpopProofError) throw err.setChallenge({ algs });
      throw err;
    }
  };
}

/**
 * Verifies one DPoP proof against its request (RFC 9449 §4.3).
 *
 * @throws {DpopProofError} 401 `invalid_dpop_proof` (`ERR_DPOP_PROOF_INVALID`) or
 *   `use_dpop_nonce` (`ERR_DPOP_NONCE_REQUIRED`); {ConfigError} for bad options.
 * @example
 * const { jkt, replayKey, replayUntil } = verifyDpopProof(proof, { method: 'GET', htu, accessToken });
 * if (jkt !== token.cnf.jkt || !replayCache.claim(replayKey, replayUntil, Date.now())) throw …;
 */
export function verifyDpopProof(
  proof: string,
  req: DpopRequest,
  options: DpopProofOptions = {},
): VerifiedDpopProof {
  return createDpopProofVerifier(options)(proof, req);
}

interface ParsedProof {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function parse(proof: unknown, maxBytes: number): ParsedProof {
  if (typeof proof !== 'string' || proof.length === 0) throw invalid('The DPoP proof is missing.');
  if (proof.length > maxBytes) {
    throw invalid(`The DPoP proof is ${proof.length} bytes; the largest accepted is ${maxBytes} bytes.`);
  }
  if (!BASE64URL_JWS.test(proof)) {
    throw invalid('The DPoP proof is not one JWT in compact form (three base64url parts, no spaces).');
  }
  const [headerPart, payloadPart, signaturePart] = proof.split('.') as [string, string, string];
  const header = parseJson(decode(headerPart, 'header'), 'header');
  if (header.typ !== 'dpop+jwt') throw invalid('The DPoP proof\'s "typ" must be "dpop+jwt".');
  if (Object.hasOwn(header, 'crit')) {
    throw invalid('The DPoP proof\'s header has "crit": critical extensions are not supported.');
  }
  return {
    header,
    payload: parseJson(decode(payloadPart, 'payload'), 'payload'),
    signingInput: `${headerPart}.${payloadPart}`,
    signature: decode(signaturePart, 'signature'),
  };
}

/** Strict base64url: a segment that does not round-trip has a second encoding (non-zero bits). */
function decode(segment: string, part: string): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) {
    throw invalid(`The DPoP proof's ${part} is not canonical base64url.`);
  }
  return bytes;
}

function parseJson(bytes: Buffer, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw invalid(`The DPoP proof's ${part} is not valid UTF-8 JSON.`, cause);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`The DPoP proof's ${part} must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function algNotAllowed(alg: unknown, algs: readonly string[]): DpopProofError {
  if (typeof alg !== 'string') return invalid('The DPoP proof\'s header has no "alg" string.');
  if (alg.toLowerCase() === 'none') return invalid('Unsigned DPoP proofs (alg "none") are not accepted.');
  if (alg.startsWith('HS')) {
    return invalid('DPoP proofs signed with a shared secret (HS*) are not accepted.');
  }
  return invalid(`The DPoP proof's "alg" is not accepted; use ${algs.join(', ')}.`);
}

interface CheckedClaims {
  jti: string;
  iat: number;
}

function checkClaims(
  payload: Record<string, unknown>,
  req: DpopRequest,
  nowSeconds: number,
  maxAge: number,
  skew: number,
): CheckedClaims {
  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw invalid(`The DPoP proof's "jti" must be a string of 1 to ${MAX_JTI_LENGTH} characters.`);
  }
  if (typeof htm !== 'string' || htm !== req.method) {
    throw invalid('The DPoP proof\'s "htm" does not match the request method.');
  }
  if (typeof htu !== 'string') throw invalid('The DPoP proof has no "htu" string.');
  if (htu.includes('?') || htu.includes('#')) {
    throw invalid('The DPoP proof\'s "htu" must not contain a query or a fragment.');
  }
  const proofUrl = normalizeUrl(htu);
  if (proofUrl === undefined) throw invalid('The DPoP proof\'s "htu" is not an http(s) URL.');
  const requestUrl = normalizeUrl(req.htu);
  if (requestUrl === undefined || proofUrl !== requestUrl) {
    throw invalid('The DPoP proof\'s "htu" does not match the request URL.');
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw invalid('The DPoP proof\'s "iat" must be a number.');
  }
  if (iat > nowSeconds + skew) throw invalid('The DPoP proof\'s "iat" is in the future.');
  if (iat < nowSeconds - maxAge - skew) throw invalid('The DPoP proof is too old ("iat").');
  if (req.accessToken !== undefined) {
    const expected = Buffer.from(createHash('sha256').update(req.accessToken, 'ascii').digest('base64url'));
    if (typeof ath !== 'string') throw invalid('The DPoP proof has no "ath" for the access token.');
    const given = Buffer.from(ath);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalid('The DPoP proof\'s "ath" does not match the access token.');
    }
  }
  return { jti, iat };
}

/**
 * `scheme://host[:port]/path` for comparison (RFC 9449 §4.3 point 9, RFC 3986 §6.2.2–6.2.3):
 * `URL` lower-cases scheme and host, drops default ports and resolves dot segments. Query and
 * fragment are left out. Undefined for anything but an absolute http(s) URL without user info.
 */
function normalizeUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function signatureValid(
  alg: string,
  signingInput: string,
  signature: Buffer,
  key: ReturnType<typeof proofKey>['key'],
): boolean {
  if (alg !== 'EdDSA') return verifySignature(alg, signingInput, signature, key);
  const type = key.asymmetricKeyType;
  if (type === undefined || signature.length !== SIGNATURE_LENGTHS[type]) return false;
  try {
    return verify(null, Buffer.from(signingInput), key, signature);
  } catch {
    return false;
  }
}

function checkNonce(policy: (value: string | undefined) => DpopNonceVerdict, nonce: unknown): void {
  const verdict =
    typeof nonce === 'string' ? policy(nonce) : nonce === undefined ? policy(undefined) : 'invalid';
  if (verdict === 'valid') return;
  throw new DpopProofError(
    'use_dpop_nonce',
    verdict === 'missing'
      ? "The DPoP proof needs the server's nonce: use the DPoP-Nonce header of this response."
      : "The DPoP proof's nonce is not valid (any more): use the DPoP-Nonce header of this response.",
  );
}

function positive(name: string, value: number, zeroAllowed = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new ConfigError(
      `dpop ${name}: expected a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${String(value)}.`,
    );
  }
  return value;
}

function invalid(description: string, cause?: unknown): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', description, cause === undefined ? undefined : { cause });
}
