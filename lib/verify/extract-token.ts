/**
 * Access-token extraction (RFC 6750 §2, RFC 9449 §7.1). Runs on every request, so it is a single
 * pass over the header value with no regular expressions and no allocation beyond the returned token.
 *
 * jwt-gate accepts exactly one way of sending a token: the `Authorization` header, with the
 * `Bearer` scheme (RFC 6750 §2.1) or the `DPoP` scheme (RFC 9449 §7.1, a token bound to a key,
 * sent with a `DPoP` proof header that the verifier checks; same b64token syntax). The form-body (§2.2) and query (§2.3) methods are refused with 400 and a message saying
 * to use the header: tokens in URLs end up in access logs, proxies and browser history, and one
 * accepted way means one code path to get right.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { InvalidRequestError } from '../errors.js';

/** The parts of a request that extraction reads; an Express or plain Node request fits. */
export interface BearerRequest {
  headers: IncomingHttpHeaders;
  /** Node's raw header list (`[name, value, name, value, …]`), used to detect duplicates. */
  rawHeaders?: string[];
  /** Request URL; when it has no `?`, `query` is not read (Express 5 re-parses it on each read). */
  url?: string;
  /** Parsed query (Express `req.query`); an `access_token` parameter is refused. */
  query?: unknown;
  /** Parsed body; an `access_token` field of a form-encoded body is refused. */
  body?: unknown;
}

/** Any character outside `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, before the `=`s. */
const NOT_B64TOKEN_BODY = /[^A-Za-z0-9\-._~+/]/;

const USE_HEADER = 'Send the token in the Authorization header as "Authorization: Bearer <token>"';

/**
 * Returns the access token of `req` — sent as `Authorization: Bearer <token>` or `Authorization:
 * DPoP <token>` (see {@link sentWithDpopScheme}) — or `undefined` when the request carries no such
 * credentials (no `Authorization` header, or one with another scheme such as `Basic`): the caller
 * then answers 401 without an error code (RFC 6750 §3.1).
 *
 * @throws {InvalidRequestError} 400 `invalid_request` when the request is malformed: more than one
 *   `Authorization` header; `Bearer`/`DPoP` with no token, several tokens or characters outside the
 *   b64token set; a token sent as `access_token` in the query or a form body (alone or in
 *   addition to the header). The message never contains the token.
 * @example
 * const token = extractBearerToken(req);
 * if (token === undefined) return next(new MissingTokenError());
 */
export function extractBearerToken(req: BearerRequest): string | undefined {
  if (hasDuplicateAuthorization(req.rawHeaders)) {
    throw new InvalidRequestError('The request has more than one Authorization header; send exactly one.');
  }
  const header = req.headers.authorization;
  const token = header === undefined ? undefined : parseCredentials(header);
  const inQuery = (req.url === undefined || req.url.includes('?')) && hasAccessToken(req.query);
  const inBody = !inQuery && isFormEncoded(req.headers) && hasAccessToken(req.body);
  if (inQuery || inBody) {
    const where = inQuery ? 'the URL query' : 'the request body';
    throw new InvalidRequestError(
      token === undefined
        ? `Tokens are not accepted in ${where} (access_token), because URLs and bodies get logged. ${USE_HEADER}.`
        : `The token was sent in more than one way (Authorization header and access_token in ${where}). ${USE_HEADER} only.`,
    );
  }
  return token;
}

/**
 * True when `rawHeaders` holds more than one `Authorization` field. Node keeps only the first
 * duplicate in `req.headers` (or joins them, with `joinDuplicateHeaders`), so duplicates are only
 * visible in the raw list. `undefined` (no raw list) is false.
 */
export function hasDuplicateAuthorization(rawHeaders: readonly string[] | undefined): boolean {
  if (rawHeaders === undefined) return false;
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    // Length first: almost every header name is rejected without lower-casing it.
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/**
 * True when the request's `Authorization` header uses the `DPoP` scheme (RFC 9449 §7.1). Meant for
 * a request whose token {@link extractBearerToken} returned: its header is then `Bearer …` or
 * `DPoP …`, so the first letter decides. No allocation.
 */
export function sentWithDpopScheme(req: { headers: IncomingHttpHeaders }): boolean {
  const header = req.headers.authorization;
  if (header === undefined) return false;
  let i = 0;
  while (i < header.length && isSpace(header.charCodeAt(i))) i++;
  return (header.charCodeAt(i) | 0x20) === 0x64; /* d */
}

/**
 * Parses `credentials = auth-scheme 1*SP b64token` (RFC 7235 §2.1, RFC 6750 §2.1, RFC 9449 §7.1)
 * for the schemes `Bearer` and `DPoP`. Another scheme yields `undefined`; a Bearer or DPoP header
 * whose value is not exactly one b64token throws.
 */
function parseCredentials(value: string): string | undefined {
  let start = 0;
  let end = value.length;
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  // The scheme is "Bearer" (checked first: the hot path) or "DPoP", case-insensitively, followed
  // by whitespace or the end of the value.
  let schemeLength: number;
  if (end - start >= 6 && isScheme(value, start, BEARER)) schemeLength = 6;
  else if (end - start >= 4 && isScheme(value, start, DPOP)) schemeLength = 4;
  else return undefined;
  let i = start + schemeLength;
  if (i < end && !isSpace(value.charCodeAt(i))) return undefined; // e.g. "BearerX …"
  while (i < end && isSpace(value.charCodeAt(i))) i++;
  if (i === end) {
    throw new InvalidRequestError(
      `The Authorization header says ${schemeName(schemeLength)} but carries no token. ${USE_HEADER}.`,
    );
  }
  let tokenEnd = end;
  while (tokenEnd > i && value.charCodeAt(tokenEnd - 1) === 0x3d /* = */) tokenEnd--;
  // One native scan for the first character outside the b64token body; a single negated class
  // cannot backtrack, so this is linear in the header length.
  const bad = tokenEnd > i ? NOT_B64TOKEN_BODY.exec(value.slice(i, tokenEnd)) : null;
  if (tokenEnd === i || bad !== null) {
    const code = bad === null ? 0x3d : bad[0].charCodeAt(0);
    throw new InvalidRequestError(
      isSpace(code) || code === 0x2c /* , */
        ? `The Authorization header must carry exactly one token after ${schemeName(schemeLength)}. ${USE_HEADER}.`
        : 'The bearer token contains characters that are not allowed (RFC 6750 b64token: letters, digits and -._~+/ then optional =).',
    );
  }
  return value.slice(i, end);
}

/** `value` has `scheme` (lower-case) at `start`, in any ASCII case (compared in place: no copy). */
function isScheme(value: string, start: number, scheme: string): boolean {
  for (let i = 0; i < scheme.length; i++) {
    const code = value.charCodeAt(start + i);
    const lower = scheme.charCodeAt(i);
    if (code !== lower && code !== lower - 0x20) return false;
  }
  return true;
}

const BEARER = 'bearer';
const DPOP = 'dpop';

function schemeName(length: number): string {
  return length === 4 ? 'DPoP' : 'Bearer';
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function hasAccessToken(container: unknown): boolean {
  // Own property only: a parsed query may have a null prototype, and inherited names don't count.
  return typeof container === 'object' && container !== null && Object.hasOwn(container, 'access_token');
}

/** RFC 6750 §2.2 defines the body method for form-encoded bodies only; JSON fields named access_token are data. */
function isFormEncoded(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return type !== undefined && type.toLowerCase().startsWith('application/x-www-form-urlencoded');
}
