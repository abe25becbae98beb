/**
 * jwt-gate's errors: a small class tree with stable `ERR_*` codes.
 *
 * - `ConfigError` stops the start: a bad config value or key, with a message naming the field
 *   (and the environment variable that fed it) and the fix.
 * - `HttpError` and its RFC 6750 subclasses travel through `next(err)`; they carry `status`,
 *   `code`, an OAuth `error` and `headers` so Express (or `gate.errorHandler`) can render them.
 *   Messages never contain a token, a stack trace or a library class name.
 */

import { DPOP_ALGORITHMS } from './config/algorithms.js';

export type JwtGateErrorCode =
  // start-up
  | 'ERR_CONFIG_INVALID'
  | 'ERR_KEY_INVALID'
  // request syntax (400 invalid_request)
  | 'ERR_REQUEST_INVALID'
  // no credentials (401, no error code)
  | 'ERR_TOKEN_MISSING'
  // token problems (401 invalid_token)
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_TOO_LARGE'
  | 'ERR_TOKEN_ALG_NOT_ALLOWED'
  | 'ERR_TOKEN_HEADER_NOT_ALLOWED'
  | 'ERR_TOKEN_ISSUER_UNKNOWN'
  | 'ERR_TOKEN_KEY_UNKNOWN'
  | 'ERR_TOKEN_SIGNATURE_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_TOKEN_AUDIENCE_INVALID'
  | 'ERR_TOKEN_CLAIM_INVALID'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_TOKEN_DPOP_REQUIRED'
  | 'ERR_TOKEN_NOT_DPOP_BOUND'
  | 'ERR_PRINCIPAL_INVALID'
  // DPoP proof problems (401 invalid_dpop_proof / use_dpop_nonce, RFC 9449 §7.1, §8)
  | 'ERR_DPOP_PROOF_INVALID'
  | 'ERR_DPOP_NONCE_REQUIRED'
  // authenticated but not allowed (403 insufficient_scope)
  | 'ERR_FORBIDDEN'
  | 'ERR_INSUFFICIENT_SCOPE'
  // dependencies down (503)
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_STORE_UNAVAILABLE'
  // API input (400/404/409)
  | 'ERR_BAD_REQUEST'
  | 'ERR_EXPIRY_INVALID'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  // outgoing calls of lib/client (ingestion client, pipeline-service client)
  | 'ERR_CLIENT_UNAUTHORIZED'
  | 'ERR_CLIENT_REQUEST_FAILED'
  | 'ERR_PIPELINE_SERVICE_FAILED';

export interface JwtGateErrorOptions {
  cause?: unknown;
}

/** Base class of every error jwt-gate throws. */
export class JwtGateError extends Error {
  readonly code: JwtGateErrorCode;

  constructor(code: JwtGateErrorCode, message: string, options?: JwtGateErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration or key problem found at start-up. The message names the field and the fix. */
export class ConfigError extends JwtGateError {
  constructor(
    message: string,
    options?: JwtGateErrorOptions & { code?: 'ERR_CONFIG_INVALID' | 'ERR_KEY_INVALID' },
  ) {
    super(options?.code ?? 'ERR_CONFIG_INVALID', message, options);
  }
}

/** OAuth 2.0 bearer-token error codes (RFC 6750 §3.1). */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** An error with an HTTP status; rendered as `{"code": status, "message": ...}`. */
export class HttpError extends JwtGateError {
  readonly status: number;
  /** Response headers to send with this error (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers: Record<string, string>;

  constructor(status: number, code: JwtGateErrorCode, message: string, options?: JwtGateErrorOptions) {
    super(code, message, options);
    this.status = status;
    this.headers = {};
  }

  /** Express's own error handler reads `statusCode` too. */
  get statusCode(): number {
    return this.status;
  }

  /** Stable JSON body, OpenMetadata-compatible. */
  toJSON(): { code: number; message: string; errorCode: JwtGateErrorCode } {
    return { code: this.status, message: this.message, errorCode: this.code };
  }
}

/**
 * An error that answers with a `WWW-Authenticate` challenge (Bearer, DPoP): it names the realm and,
 * when the gate has one, the RFC 9728 metadata URL. `setRealm()` is called by the middleware and
 * the error handler before the error is rendered; until then the realm is `jwt-gate`.
 */
export abstract class ChallengeError extends HttpError {
  /** The challenge's realm. */
  realm = 'jwt-gate';
  /** The RFC 9728 metadata URL the challenge names (`resource_metadata`), when the gate has one. */
  resourceMetadata: string | undefined;

  /**
   * Rebuilds `WWW-Authenticate` for `realm` and the protected-resource metadata URL (RFC 9728
   * §5.1: `resource_metadata="…"`, last in each challenge; kept when not given). Returns `this`.
   */
  setRealm(realm: string, resourceMetadata = this.resourceMetadata): this {
    this.realm = realm;
    this.resourceMetadata = resourceMetadata;
    this.headers['WWW-Authenticate'] = this.challenge(
      `realm="${quote(realm)}"`,
      resourceMetadata === undefined ? '' : `, resource_metadata="${quote(resourceMetadata)}"`,
    );
    return this;
  }

  /** The `WWW-Authenticate` value, given the quoted realm parameter and the metadata suffix. */
  protected abstract challenge(realm: string, metadata: string): string;
}

/** An RFC 6750 error: carries the `WWW-Authenticate: Bearer` challenge. */
export class BearerError extends ChallengeError {
  readonly error: BearerErrorCode | undefined;
  readonly description: string;
  /** The challenge's `scope` (RFC 6750 §3): for `insufficient_scope`, the scopes required. */
  scope: string | undefined;
  /**
   * When set, an error-free `DPoP realm="…", algs="…"` challenge follows the Bearer one (RFC 9449
   * §7.1): the resource also takes DPoP-bound tokens, with proofs signed by these algorithms.
   */
  dpopAlgs: readonly string[] | undefined;

  constructor(
    status: number,
    error: BearerErrorCode | undefined,
    code: JwtGateErrorCode,
    description: string,
    options?: JwtGateErrorOptions,
  ) {
    super(status, code, status === 401 ? `Not Authorized! ${description}` : description, options);
    this.error = error;
    this.description = description;
    this.setRealm('jwt-gate');
  }

  protected challenge(realm: string, metadata: string): string {
    const params = [realm];
    if (this.error !== undefined) {
      params.push(`error="${this.error}"`, `error_description="${quote(this.description)}"`);
    }
    if (this.scope !== undefined) params.push(`scope="${quote(this.scope)}"`);
    let header = `Bearer ${params.join(', ')}${metadata}`;
    if (this.dpopAlgs !== undefined)
      header += `, DPoP ${realm}, algs="${quote(this.dpopAlgs.join(' '))}"${metadata}`;
    return header;
  }

  /** Adds the DPoP challenge (`algs`: the accepted proof algorithms) after the Bearer one. Returns `this`. */
  setDpopChallenge(algs: readonly string[]): this {
    this.dpopAlgs = algs;
    return this.setRealm(this.realm);
  }
}

/** DPoP error codes (RFC 9449 §7.1 `invalid_dpop_proof`, §8 `use_dpop_nonce`). */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * 401 for a DPoP proof that is missing, malformed or does not match the request (RFC 9449 §7.1),
 * or that lacks the server's current nonce (§8, `use_dpop_nonce`: the caller adds the `DPoP-Nonce`
 * header, e.g. with `setNonce`). Carries the challenge
 * `WWW-Authenticate: DPoP realm="…", error="…", error_description="…", algs="ES256 EdDSA …"`;
 * with `alsoBearer`, a second, error-free `Bearer realm="…"` challenge follows in the same header
 * (RFC 9110 §11.6.1), for a resource that accepts both schemes. `setRealm(realm, resourceMetadata)`
 * has the signature of `BearerError.setRealm`. The message never contains the proof or the token.
 */
export class DpopProofError extends ChallengeError {
  readonly error: DpopErrorCode;
  readonly description: string;
  /** The algorithms the DPoP challenge advertises (`algs`, RFC 9449 §7.1). */
  algs: readonly string[] = DPOP_ALGORITHMS;
  /** Whether a `Bearer` challenge follows the `DPoP` one (the resource also accepts Bearer tokens). */
  alsoBearer = false;

  constructor(error: DpopErrorCode, description: string, options?: JwtGateErrorOptions) {
    super(
      401,
      error === 'use_dpop_nonce' ? 'ERR_DPOP_NONCE_REQUIRED' : 'ERR_DPOP_PROOF_INVALID',
      `Not Authorized! ${description}`,
      options,
    );
    this.error = error;
    this.description = description;
    this.setRealm('jwt-gate');
  }

  /**
   * Sets what the challenge advertises: `algs` (the verifier's allowlist) and whether a `Bearer`
   * challenge follows. Returns `this`.
   */
  setChallenge(options: { algs?: readonly string[]; alsoBearer?: boolean }): this {
    if (options.algs !== undefined) this.algs = options.algs;
    if (options.alsoBearer !== undefined) this.alsoBearer = options.alsoBearer;
    return this.setRealm(this.realm);
  }

  /** Adds the `DPoP-Nonce` header the client must use in its next proof (RFC 9449 §8). */
  setNonce(nonce: string): this {
    this.headers['DPoP-Nonce'] = nonce;
    return this;
  }

  protected challenge(realm: string, metadata: string): string {
    const dpop =
      `DPoP ${realm}, error="${this.error}", error_description="${quote(this.description)}", ` +
      `algs="${quote(this.algs.join(' '))}"${metadata}`;
    return this.alsoBearer ? `${dpop}, Bearer ${realm}${metadata}` : dpop;
  }
}

/** 401 with no error code: the request carried no credentials (RFC 6750 §3.1). */
export class MissingTokenError extends BearerError {
  constructor() {
    super(
      401,
      undefined,
      'ERR_TOKEN_MISSING',
      'Authentication is required: send Authorization: Bearer <token>.',
    );
  }
}

/** 400 invalid_request: the request itself is malformed (two Authorization headers, bad syntax…). */
export class InvalidRequestError extends BearerError {
  constructor(description: string, options?: JwtGateErrorOptions) {
    super(400, 'invalid_request', 'ERR_REQUEST_INVALID', description, options);
  }
}

/** 401 invalid_token: the token is malformed, expired, revoked, of the wrong issuer… */
export class InvalidTokenError extends BearerError {
  constructor(code: JwtGateErrorCode, description: string, options?: JwtGateErrorOptions) {
    super(401, 'invalid_token', code, description, options);
  }
}

/**
 * 403 insufficient_scope: authenticated, but not allowed here. `scope`: the scopes the route
 * requires, space-separated, sent in the challenge (RFC 6750 §3.1).
 */
export class InsufficientScopeError extends BearerError {
  constructor(description: string, code: JwtGateErrorCode = 'ERR_FORBIDDEN', scope?: string) {
    super(403, 'insufficient_scope', code, description);
    if (scope !== undefined) {
      this.scope = scope;
      this.setRealm('jwt-gate');
    }
  }
}

/** 503 with `Retry-After`: keys or revocation state cannot be obtained right now. Fails closed. */
export class ServiceUnavailableError extends HttpError {
  constructor(
    code: 'ERR_KEYS_UNAVAILABLE' | 'ERR_STORE_UNAVAILABLE',
    message: string,
    retryAfterSeconds = 5,
    options?: JwtGateErrorOptions,
  ) {
    super(503, code, message, options);
    this.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

/** 400/404/409 from the bot API and token minting. */
export class ApiError extends HttpError {}

export function badRequest(message: string, code: JwtGateErrorCode = 'ERR_BAD_REQUEST'): ApiError {
  return new ApiError(400, code, message);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'ERR_NOT_FOUND', message);
}

export function conflict(message: string): ApiError {
  return new ApiError(409, 'ERR_CONFLICT', message);
}

/**
 * `error_description` may hold only printable ASCII without `"` and `\` (RFC 6750 §3); anything
 * else becomes a space or an apostrophe, so no message can break the header (Node refuses
 * non-Latin-1 header values with a 500).
 */
function quote(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  return value.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[^\x20-\x7e]|["\\]/g, "'");
}
