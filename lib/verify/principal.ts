import type { TokenType } from '../config/types.js';

/** Who made the request: put on `req.user` by `gate.authenticate`. */
export interface Principal {
  /** Principal name: the first present claim of `jwtPrincipalClaims`, before `@`, ASCII lower-cased. */
  readonly name: string;
  /** `email` claim (omitted when the IdP says it is not verified), or `null`. */
  readonly email: string | null;
  /** Only ever `true` for our own verified bot tokens. */
  readonly isBot: boolean;
  /** Listed in `adminPrincipals` (bots only when listed explicitly). */
  readonly isAdmin: boolean;
  /** `tokenType` of our own tokens (`BOT`, `PERSONAL_ACCESS`, `OM_USER`); `null` for SSO tokens. */
  readonly tokenType: TokenType | null;
  /** `iss` of the token. */
  readonly issuer: string;
  /** `sub` of the token (may be empty when the IdP sends none). */
  readonly subject: string;
  /** Name of the key source that verified the token: `self` or the JWKS URL. */
  readonly source: string;
  /** `jti` of the token, or `null`. */
  readonly tokenId: string | null;
  /**
   * Scopes the token grants (RFC 6750 §3.1, RFC 9068 §2.2.3), frozen: its `scope` (space-separated)
   * or `scp` (array) claim; for an SSO token without one, its source's `defaultScopes`. Checked by
   * `requireScopes` / `requireAnyScope`.
   */
  readonly scopes: readonly string[];
  /** Token expiry in epoch ms, or `null` (Unlimited bot tokens). */
  readonly expiresAt: number | null;
  /** Every verified claim, as a null-prototype frozen object. */
  readonly claims: Readonly<Record<string, unknown>>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // Passport declares `interface User {}`; merging makes `req.user` a Principal.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Principal {}
    // Declared as @types/passport declares it, so an app needs no Passport types for `req.user`.
    interface Request {
      user?: User | undefined;
    }
  }
}
