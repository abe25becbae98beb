/**
 * Bearer-token extraction (RFC 6750 §2). Runs on every request, so it is a single pass over the
 * header value with no regular expressions and no allocation beyond the returned token.
 *
 * jwt-gate accepts exactly one way of sending a token: the `Authorization: Bearer` header
 * (§2.1). The form-body (§2.2) and query (§2.3) methods are refused with 400 and a message saying
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
 * Returns the bearer token of `req`, or `undefined` when the request carries no bearer credentials
 * (no `Authorization` header, or one with another scheme such as `Basic`): the caller then answers
 * 401 without an error code (RFC 6750 §3.1).
 *
 * @throws {InvalidRequestError} 400 `invalid_request` when the request is malformed: more than one
 *   `Authorization` header; `Bearer` with no token, several tokens or characters outside the
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
  const token = header === undefined ? undefined : parseBearer(header);
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
 * Parses `credentials = auth-scheme 1*SP b64token` (RFC 7235 §2.1, RFC 6750 §2.1). Another scheme
 * yields `undefined`; a Bearer header whose value is not exactly one b64token throws.
 */
function parseBearer(value: string): string | undefined {
  let start = 0;
  let end = value.length;
  while (start < end && isSpace(value.charCodeAt(start))) start++;
  while (end > start && isSpace(value.charCodeAt(end - 1))) end--;
  // The scheme is "Bearer", case-insensitively, followed by whitespace or the end of the value.
  if (end - start < 6 || !isBearerScheme(value, start)) return undefined;
  let i = start + 6;
  if (i < end && !isSpace(value.charCodeAt(i))) return undefined; // e.g. "BearerX …"
  while (i < end && isSpace(value.charCodeAt(i))) i++;
  if (i === end) {
    throw new InvalidRequestError(
      `The Authorization header says Bearer but carries no token. ${USE_HEADER}.`,
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
        ? `The Authorization header must carry exactly one token after Bearer. ${USE_HEADER}.`
        : 'The bearer token contains characters that are not allowed (RFC 6750 b64token: letters, digits and -._~+/ then optional =).',
    );
  }
  return value.slice(i, end);
}

/** `value` has "Bearer" at `start`, in any ASCII case (compared in place: no lower-cased copy). */
function isBearerScheme(value: string, start: number): boolean {
  for (let i = 0; i < BEARER.length; i++) {
    const code = value.charCodeAt(start + i);
    const lower = BEARER.charCodeAt(i);
    if (code !== lower && code !== lower - 0x20) return false;
  }
  return true;
}

const BEARER = 'bearer';

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
