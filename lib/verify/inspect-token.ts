/**
 * Strict structural checks of a compact JWS before any cryptography (RFC 7515 §7.1, RFC 8725).
 * A token that passes has exactly one encoding, a JSON-object header with an allowed `alg` and
 * only harmless header parameters, and a JSON-object payload free of prototype-polluting keys.
 * Nothing here trusts the token: it only decides whether it is worth verifying.
 */

import { InvalidTokenError } from '../errors.js';
import { ASYMMETRIC_ALGORITHM_SET } from '../config/algorithms.js';

/** Signature algorithms jwt-gate can verify (see `verifySignature`). Never `none`, never HS*. */
export const SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHM_SET;

/** The JOSE header fields jwt-gate reads. */
export interface TokenHeader {
  alg: string;
  kid?: string;
  typ?: string;
}

/** A structurally valid, not yet verified token. */
export interface InspectedToken {
  /** Frozen: tokens with the same header segment share one. */
  header: Readonly<TokenHeader>;
  /** The claims, deep-frozen: a verified-token cache may share them between requests. */
  payload: Readonly<Record<string, unknown>>;
  /** `base64url(header) + "." + base64url(payload)`, the bytes the signature covers. */
  signingInput: string;
  signature: Buffer;
}

export interface InspectOptions {
  /** Largest accepted token, in bytes (the token is ASCII, so also in characters). */
  maxBytes: number;
}

/** Longest accepted `kid`, in characters. */
const MAX_KID_LENGTH = 256;

/**
 * Header parameters that are refused, with the reason a user can act on. Key-supplying parameters
 * would let the token choose its own key (RFC 8725 §3.10); `crit`/`b64`/`zip` change how the
 * token must be processed; `cty` announces a nested JWT; `enc` a JWE.
 */
const FORBIDDEN_HEADERS: ReadonlyMap<string, string> = new Map([
  ['jku', 'keys are never taken from a URL named in the token'],
  ['x5u', 'keys are never taken from a URL named in the token'],
  ['jwk', 'keys are never taken from the token itself'],
  ['x5c', 'keys are never taken from the token itself'],
  ['crit', 'critical header extensions are not supported'],
  ['b64', 'unencoded payloads (RFC 7797) are not supported'],
  ['zip', 'compressed payloads are not supported'],
  ['cty', 'nested tokens are not supported'],
  ['enc', 'encrypted tokens (JWE) are not supported'],
]);

/** Header parameters accepted as they are; `x5t`/`x5t#S256` are harmless certificate thumbprints. */
const ALLOWED_HEADERS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ', 'x5t', 'x5t#S256']);

/** `typ` values of JWTs and JWT access tokens (RFC 7519 §5.1, RFC 9068 §2.1), compared lower-cased. */
const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  'jwt',
  'application/jwt',
  'at+jwt',
  'application/at+jwt',
]);

/** Keys that turn into prototype tricks once claims are merged into other objects. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a BOM is kept, so JSON.parse rejects it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks the structure of `token` and decodes it, without verifying anything cryptographically.
 *
 * @throws {InvalidTokenError} 401 `invalid_token` with `ERR_TOKEN_TOO_LARGE` (over `maxBytes`),
 *   `ERR_TOKEN_MALFORMED` (not three canonical base64url parts, not JSON objects, reserved keys),
 *   `ERR_TOKEN_ALG_NOT_ALLOWED` (`none`, HS*, anything unsupported) or
 *   `ERR_TOKEN_HEADER_NOT_ALLOWED` (`jku`, `x5u`, `jwk`, `x5c`, `crit`, `cty`, unknown parameters,
 *   a bad `kid` or `typ`). Messages never contain the token.
 * @example
 * const { header, payload, signingInput, signature } = inspectToken(token, { maxBytes: 8192 });
 */
export function inspectToken(token: string, opts: InspectOptions): InspectedToken {
  if (token.length > opts.maxBytes) {
    throw new InvalidTokenError(
      'ERR_TOKEN_TOO_LARGE',
      `The token is ${token.length} bytes; the largest accepted is ${opts.maxBytes} bytes.`,
    );
  }
  const firstDot = token.indexOf('.');
  const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1);
  if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) {
    throw malformed(
      countDots(token) === 4
        ? 'The token is encrypted (JWE, five parts); only signed JWTs are accepted.'
        : 'The token is not a signed JWT in compact form (three base64url parts separated by dots).',
    );
  }
  // Node's base64 decoder reads only the low byte of a character beyond Latin-1 ("ł" as "B"): a
  // token with any non-ASCII character takes the slow path of every segment, which refuses it.
  const ascii = Buffer.byteLength(token, 'utf8') === token.length;
  const headerSegment = token.slice(0, firstDot);
  const knownHeader = checkedHeaders.get(headerSegment);
  // Every segment is checked as base64url before any is parsed; a known header segment already was.
  const headerBytes = knownHeader === undefined ? decodeBase64url(headerSegment, 'header', ascii) : null;
  const payloadBytes = decodeBase64url(token.slice(firstDot + 1, secondDot), 'payload', ascii);
  const signature = decodeBase64url(token.slice(secondDot + 1), 'signature', ascii);

  const header =
    knownHeader ?? rememberHeader(headerSegment, checkHeader(parseJsonObject(headerBytes!, 'header')));
  const payload = parseJsonObject(payloadBytes, 'payload');
  return { header, payload: deepFreeze(payload), signingInput: token.slice(0, secondDot), signature };
}

/**
 * Header segments already checked, with their header. One issuer signs every token with the same
 * few headers, so the header of a token is usually a lookup. Only headers that passed every check
 * are kept, only short ones (a real header is well under 200 characters; V8 hashes very long
 * strings by their length alone), and as copies, so the memo never holds on to a token; when full,
 * it starts over (a flood of distinct headers costs what it would without it).
 */
const checkedHeaders = new Map<string, Readonly<TokenHeader>>();
const MAX_CHECKED_HEADERS = 64;
const MAX_REMEMBERED_HEADER_LENGTH = 512;

function rememberHeader(segment: string, header: TokenHeader): Readonly<TokenHeader> {
  Object.freeze(header);
  if (segment.length > MAX_REMEMBERED_HEADER_LENGTH) return header;
  if (checkedHeaders.size >= MAX_CHECKED_HEADERS) checkedHeaders.clear();
  // A slice of the token would keep the whole token alive; the ASCII round trip copies it.
  checkedHeaders.set(Buffer.from(segment, 'latin1').toString('latin1'), header);
  return header;
}

function malformed(description: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_MALFORMED', description);
}

function countDots(token: string): number {
  let dots = 0;
  for (let i = token.indexOf('.'); i >= 0; i = token.indexOf('.', i + 1)) dots++;
  return dots;
}

/**
 * Strict base64url (RFC 7515 §2, RFC 4648 §5): no padding, no `+`/`/`, no whitespace, not empty,
 * and canonical — the unused low bits of the last character are zero, so that one token has
 * exactly one encoding (otherwise `…Q` and `…R` would decode to the same bytes). Node's decoder
 * is lenient: it skips characters outside both base64 alphabets and stops at `=`, so such a
 * segment decodes to fewer bytes than its length gives; `+` and `/` it takes as `-` and `_`.
 * `ascii`: the whole token is ASCII (see `inspectToken`); otherwise the segment is re-encoded, and
 * only a strict, canonical segment round-trips unchanged. The character loop runs only for a
 * segment that failed, to say what is wrong with it.
 */
function decodeBase64url(segment: string, part: string, ascii: boolean): Buffer {
  if (segment.length === 0) throw malformed(`The token's ${part} is empty.`);
  const bytes = Buffer.from(segment, 'base64url');
  if (ascii ? isStrictBase64url(segment, bytes.length) : bytes.toString('base64url') === segment)
    return bytes;
  for (let i = 0; i < segment.length; i++) {
    if (sextet(segment.charCodeAt(i)) < 0) {
      throw malformed(
        `The token's ${part} is not base64url: only letters, digits, "-" and "_" are allowed, without padding.`,
      );
    }
  }
  if (segment.length % 4 === 1) throw malformed(`The token's ${part} has an impossible base64url length.`);
  throw malformed(`The token's ${part} is not canonical base64url (non-zero trailing bits).`);
}

/**
 * For an ASCII segment and its decoded length: no character was skipped or cut off (then fewer
 * bytes come out: `⌊3n/4⌋` grows with every character, except at a length of 4k+1, which no
 * base64url text has), none is from the other alphabet, and the last one's unused bits are zero.
 */
function isStrictBase64url(segment: string, decodedLength: number): boolean {
  const rest = segment.length % 4;
  if (rest === 1 || decodedLength !== (segment.length * 3) >>> 2) return false;
  if (segment.includes('+') || segment.includes('/')) return false;
  if (rest === 0) return true;
  const unusedBits = rest === 2 ? 0b1111 : 0b11;
  return (sextet(segment.charCodeAt(segment.length - 1)) & unusedBits) === 0;
}

/** The 6-bit value of a base64url character, or -1. */
function sextet(code: number): number {
  if (code >= 0x41 && code <= 0x5a) return code - 0x41; // A-Z
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 26; // a-z
  if (code >= 0x30 && code <= 0x39) return code - 0x30 + 52; // 0-9
  if (code === 0x2d) return 62; // -
  if (code === 0x5f) return 63; // _
  return -1;
}

function parseJsonObject(bytes: Buffer, part: string): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', `The token's ${part} is not valid UTF-8.`, { cause });
  }
  let value: unknown;
  try {
    // A key can only spell a reserved name literally or through a \u escape, so the reviver (a
    // call per value) runs only for the rare text that could hold one.
    value = mayHoldReservedKey(text) ? JSON.parse(text, rejectReservedKeys) : JSON.parse(text);
  } catch (cause) {
    if (cause instanceof InvalidTokenError) throw cause;
    throw new InvalidTokenError('ERR_TOKEN_MALFORMED', `The token's ${part} is not valid JSON.`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`The token's ${part} must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function mayHoldReservedKey(text: string): boolean {
  return (
    text.includes('\\u') ||
    text.includes('__proto__') ||
    text.includes('constructor') ||
    text.includes('prototype')
  );
}

function rejectReservedKeys(key: string, value: unknown): unknown {
  if (RESERVED_KEYS.has(key)) {
    throw malformed(`The token uses the reserved name "${key}" as a JSON key; such tokens are refused.`);
  }
  return value;
}

function checkHeader(raw: Record<string, unknown>): TokenHeader {
  for (const name of Object.keys(raw)) {
    if (ALLOWED_HEADERS.has(name)) continue;
    const reason = FORBIDDEN_HEADERS.get(name);
    throw headerNotAllowed(
      reason === undefined
        ? `The token's header has an unsupported parameter${describeName(name)}; only alg, kid, typ and x5t are accepted.`
        : `The token's header has "${name}": ${reason}.`,
    );
  }
  const { alg, kid, typ } = raw;
  if (typeof alg !== 'string') throw malformed('The token\'s header has no "alg" string.');
  if (!SUPPORTED_ALGORITHMS.has(alg)) {
    throw new InvalidTokenError(
      'ERR_TOKEN_ALG_NOT_ALLOWED',
      alg.toLowerCase() === 'none'
        ? 'Unsigned tokens (alg "none") are not accepted.'
        : alg.startsWith('HS')
          ? 'Tokens signed with a shared secret (HS256, HS384, HS512) are not accepted; sign with an RSA or EC key.'
          : 'The token\'s algorithm ("alg") is not accepted; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512.',
    );
  }
  for (const name of ['x5t', 'x5t#S256']) {
    if (Object.hasOwn(raw, name) && typeof raw[name] !== 'string') {
      throw headerNotAllowed(`The token's header parameter "${name}" must be a string.`);
    }
  }
  const header: TokenHeader = { alg };
  if (kid !== undefined) {
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
      throw headerNotAllowed(
        `The token's "kid" must be a non-empty string of at most ${MAX_KID_LENGTH} characters.`,
      );
    }
    header.kid = kid;
  }
  if (typ !== undefined) {
    if (typeof typ !== 'string' || !ALLOWED_TYPES.has(typ.toLowerCase())) {
      throw headerNotAllowed(
        'The token\'s "typ" must be "JWT" or "at+jwt"; other token types are not accepted here.',
      );
    }
    header.typ = typ;
  }
  return header;
}

function headerNotAllowed(description: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_HEADER_NOT_ALLOWED', description);
}

/** ` "name"` when the parameter name is short and plain enough to repeat in a message, else ''. */
function describeName(name: string): string {
  if (name.length === 0 || name.length > 32) return '';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (sextet(code) < 0 && code !== 0x23 /* # */) return '';
  }
  return ` "${name}"`;
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
