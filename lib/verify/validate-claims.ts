/**
 * Registered-claim checks of a verified token (RFC 7519 §4.1, RFC 8725 §3.8–3.9): issuer, audience,
 * time window, and the types of the claims jwt-gate reads. Pure: the clock is passed in.
 */

import { InvalidTokenError } from '../errors.js';

/** The claims of a token that passed `validateClaims`. Other claims are kept, untyped. */
export interface Claims {
  readonly iss: string;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  /** Epoch seconds. */
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly email?: string;
  /** Some IdPs send the strings `"true"`/`"false"`; read it with `isEmailVerified()`. */
  readonly email_verified?: boolean | 'true' | 'false';
  readonly preferred_username?: string;
  readonly isBot?: boolean;
  readonly tokenType?: string;
  readonly [claim: string]: unknown;
}

/** What a key source requires of its tokens. */
export interface ClaimsPolicy {
  /** Accepted `iss` values, compared exactly. */
  issuers: readonly string[];
  /** Accepted `aud` values (one must match); `null` skips the audience check. */
  audiences: readonly string[] | null;
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. */
  clockToleranceSeconds: number;
  /** Refuse tokens without `exp` (external tokens must expire; our bots may be "Unlimited"). */
  requireExp: boolean;
  /** The current time, epoch seconds. */
  now: number;
  /** When set, `iat` is required and tokens older than this many seconds are refused. */
  maxAgeSeconds?: number;
}

/** Latest NumericDate accepted: 9999-12-31T23:59:59Z, so that every accepted date has an ISO form. */
const MAX_NUMERIC_DATE = 253402300799;

/** Claims that, when present, must be strings. */
const STRING_CLAIMS = ['sub', 'jti', 'email', 'preferred_username', 'tokenType'] as const;

/**
 * Checks `payload` against `policy` and returns it typed as `Claims` (the same object, not a copy).
 *
 * @throws {InvalidTokenError} 401 `invalid_token` with `ERR_TOKEN_CLAIM_INVALID` (wrong or missing
 *   `iss`, a claim of the wrong type, a date that is not a finite NumericDate),
 *   `ERR_TOKEN_AUDIENCE_INVALID`, `ERR_TOKEN_EXPIRED` (past `exp`, or older than `maxAgeSeconds`)
 *   or `ERR_TOKEN_NOT_YET_VALID` (`nbf` or `iat` in the future beyond the tolerance).
 * @example
 * const claims = validateClaims(payload, { issuers: ['open-metadata.org'], audiences: ['jwt-gate'],
 *   clockToleranceSeconds: 60, requireExp: false, now: Date.now() / 1000 });
 */
export function validateClaims(payload: Readonly<Record<string, unknown>>, policy: ClaimsPolicy): Claims {
  const { iss } = payload;
  if (typeof iss !== 'string') throw claimInvalid('The token has no issuer ("iss" string).');
  if (!policy.issuers.includes(iss)) throw claimInvalid('The token\'s issuer ("iss") is not accepted here.');

  if (policy.audiences !== null) checkAudience(payload.aud, policy.audiences);

  const { now, clockToleranceSeconds: tolerance } = policy;
  const exp = numericDate(payload, 'exp');
  const nbf = numericDate(payload, 'nbf');
  const iat = numericDate(payload, 'iat');
  if (exp === undefined) {
    if (policy.requireExp)
      throw claimInvalid('The token has no expiry ("exp"); tokens from this issuer must expire.');
  } else if (exp <= now - tolerance) {
    throw new InvalidTokenError(
      'ERR_TOKEN_EXPIRED',
      `The token expired at ${isoTime(exp)}; get a new token.`,
    );
  }
  if (nbf !== undefined && nbf > now + tolerance) {
    throw new InvalidTokenError(
      'ERR_TOKEN_NOT_YET_VALID',
      `The token is not valid before ${isoTime(nbf)}; check the clocks of the client and the server.`,
    );
  }
  if (iat !== undefined && iat > now + tolerance) {
    throw new InvalidTokenError(
      'ERR_TOKEN_NOT_YET_VALID',
      `The token claims to be issued in the future (${isoTime(iat)}); check the clocks of the issuer and the server.`,
    );
  }
  if (policy.maxAgeSeconds !== undefined) {
    if (iat === undefined) throw claimInvalid('The token has no issue time ("iat"), which is required here.');
    if (now - iat > policy.maxAgeSeconds + tolerance) {
      throw new InvalidTokenError(
        'ERR_TOKEN_EXPIRED',
        `The token was issued at ${isoTime(iat)}, more than ${policy.maxAgeSeconds} seconds ago; get a new token.`,
      );
    }
  }

  for (const name of STRING_CLAIMS) {
    const value = payload[name];
    if (value !== undefined && typeof value !== 'string')
      throw claimInvalid(`The token's "${name}" must be a string.`);
  }
  const verified = payload.email_verified;
  if (
    verified !== undefined &&
    typeof verified !== 'boolean' &&
    verified !== 'true' &&
    verified !== 'false'
  ) {
    throw claimInvalid('The token\'s "email_verified" must be true or false.');
  }
  const isBot = payload.isBot;
  if (isBot !== undefined && typeof isBot !== 'boolean')
    throw claimInvalid('The token\'s "isBot" must be true or false.');
  return payload as Claims;
}

/** `email_verified` as a boolean: `true` for `true` or `"true"`, `false` otherwise (also when absent). */
export function isEmailVerified(claims: Claims): boolean {
  return claims.email_verified === true || claims.email_verified === 'true';
}

function checkAudience(aud: unknown, audiences: readonly string[]): void {
  if (typeof aud === 'string') {
    if (audiences.includes(aud)) return;
  } else if (Array.isArray(aud)) {
    let match = false;
    for (const entry of aud as unknown[]) {
      if (typeof entry !== 'string')
        throw audienceInvalid('The token\'s "aud" must be a string or an array of strings.');
      if (!match && audiences.includes(entry)) match = true;
    }
    if (match) return;
  } else if (aud === undefined) {
    throw audienceInvalid('The token has no audience ("aud"); it must be issued for this API.');
  } else {
    throw audienceInvalid('The token\'s "aud" must be a string or an array of strings.');
  }
  throw audienceInvalid(
    'The token was issued for another audience ("aud"); get a token issued for this API.',
  );
}

/** A NumericDate claim (RFC 7519 §2): absent, or a finite number of seconds in [0, year 9999]. */
function numericDate(
  payload: Readonly<Record<string, unknown>>,
  name: 'exp' | 'nbf' | 'iat',
): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE) {
    throw claimInvalid(`The token's "${name}" must be a date in seconds since 1970 (a number).`);
  }
  return value;
}

function isoTime(seconds: number): string {
  return new Date(Math.floor(seconds) * 1000).toISOString();
}

function claimInvalid(description: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_CLAIM_INVALID', description);
}

function audienceInvalid(description: string): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_AUDIENCE_INVALID', description);
}
