import { randomUUID, sign } from 'node:crypto';
import type { TokenType } from '../config/types.js';
import type { SigningKey } from '../keys/key-set.js';
import { isJwkThumbprint } from './dpop-jkt.js';
import { type ExpiryChoice, expirySeconds } from './expiry.js';

const DIGEST = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' } as const;

/** What a minted token says about its subject. */
export interface MintClaims {
  /** `sub`: the user or bot name. */
  subject: string;
  email?: string;
  preferredUsername?: string;
  isBot: boolean;
  tokenType: TokenType;
  /** Lifetime choice as on the wire; `Unlimited` omits `exp`. */
  expiry: ExpiryChoice;
  /** `scope` (RFC 9068 §2.2.3), space-separated; omitted when not given. `[]` mints `scope: ""`. */
  scopes?: readonly string[];
  /**
   * RFC 7638 SHA-256 thumbprint of the client key the token is bound to: the token gets
   * `cnf: {"jkt": <thumbprint>}` (RFC 9449 §6.1) and is valid only with a DPoP proof by that key.
   * Omitted (an unbound token) when not given.
   */
  dpopJkt?: string;
}

/** Issuer settings, from `jwtTokenConfiguration`. */
export interface MintIssuer {
  issuer: string;
  audience: string;
  key: SigningKey;
}

/** The reference's response shape for a generated token. */
export interface TokenResponse {
  JWTToken: string;
  JWTTokenExpiry: ExpiryChoice;
  /** Epoch milliseconds, or `null` for `Unlimited`. */
  JWTTokenExpiresAt: number | null;
}

export interface MintedToken {
  token: string;
  jti: string;
  issuedAt: number;
  /** Epoch milliseconds, or `null` for `Unlimited`. */
  expiresAt: number | null;
  claims: Readonly<Record<string, unknown>>;
  response: TokenResponse;
}

/**
 * Signs a token with the active key: header `{alg, typ: "JWT", kid}`, claims `iss`, `sub`, `aud`,
 * `email`, `preferred_username`, `isBot`, `tokenType`, `scope` (when given), `cnf` (when bound), `iat`, `exp`
 * (unless Unlimited) and a unique `jti`. Times are UTC epoch seconds; `nowMs` is injectable for tests.
 *
 * @throws {TypeError} when `dpopJkt` is not 43 base64url characters (a SHA-256 thumbprint).
 */
export function mintToken(issuer: MintIssuer, claims: MintClaims, nowMs: number = Date.now()): MintedToken {
  if (claims.dpopJkt !== undefined && !isJwkThumbprint(claims.dpopJkt)) {
    throw new TypeError('dpopJkt must be an RFC 7638 SHA-256 thumbprint: 43 base64url characters.');
  }
  const iat = Math.floor(nowMs / 1000);
  const lifetime = expirySeconds(claims.expiry);
  const exp = lifetime === null ? undefined : iat + lifetime;
  const jti = randomUUID();
  const payload: Record<string, unknown> = {
    iss: issuer.issuer,
    sub: claims.subject,
    aud: issuer.audience,
    email: claims.email,
    preferred_username: claims.preferredUsername ?? claims.subject,
    isBot: claims.isBot,
    tokenType: claims.tokenType,
    scope: claims.scopes?.join(' '),
    cnf: claims.dpopJkt === undefined ? undefined : { jkt: claims.dpopJkt },
    iat,
    exp,
    jti,
  };
  const header = { alg: issuer.key.alg, typ: 'JWT', kid: issuer.key.kid };
  const signingInput = `${encodeJson(header)}.${encodeJson(payload)}`;
  const signature = sign(DIGEST[issuer.key.alg], Buffer.from(signingInput), issuer.key.privateKey);
  const token = `${signingInput}.${signature.toString('base64url')}`;
  const expiresAt = exp === undefined ? null : exp * 1000;
  return {
    token,
    jti,
    issuedAt: iat * 1000,
    expiresAt,
    claims: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>,
    response: { JWTToken: token, JWTTokenExpiry: claims.expiry, JWTTokenExpiresAt: expiresAt },
  };
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
