import type { AuthenticationConfiguration, AuthorizerConfiguration, TokenType } from '../config/types.js';
import { ConfigError, InsufficientScopeError, InvalidTokenError } from '../errors.js';
import type { Principal } from './principal.js';

const TOKEN_TYPES: ReadonlySet<string> = new Set<TokenType>(['BOT', 'PERSONAL_ACCESS', 'OM_USER']);

export interface PrincipalPolicy {
  /** Resolves the principal of a verified token. `own` is true for tokens signed by our keys. */
  resolve(claims: Readonly<Record<string, unknown>>, source: string, own: boolean): Principal;
}

/**
 * Builds the principal resolver from `jwtPrincipalClaims` / `jwtPrincipalClaimsMapping` and the
 * authorizer block. Names are lower-cased in ASCII only: no Unicode case folding or normalisation,
 * so `ADMIN` is `admin` but the Kelvin sign `K` never becomes `k` (no look-alike admin names).
 */
export function createPrincipalPolicy(
  auth: Pick<AuthenticationConfiguration, 'jwtPrincipalClaims' | 'jwtPrincipalClaimsMapping'>,
  authorizer: AuthorizerConfiguration,
): PrincipalPolicy {
  const mapping = parseMapping(auth.jwtPrincipalClaimsMapping);
  const claimOrder = auth.jwtPrincipalClaims;
  const listed = authorizer.adminPrincipals.map(asciiLower);
  const admins = new Set(listed.filter((a) => !a.includes('@')));
  const adminEmails = new Set(listed.filter((a) => a.includes('@')));
  const domain = asciiLower(authorizer.principalDomain);
  /**
   * Admin by name alone would make `admin@anywhere` — or a user-chosen `preferred_username` — an
   * admin. For SSO tokens the name must be backed by a verified email of `principalDomain`, or the
   * full email must be listed (`adminPrincipals: [jane@partner.org]`). Our own tokens we minted.
   */
  const isAdmin = (name: string, email: string | null, own: boolean): boolean => {
    if (own) return admins.has(name);
    if (email === null) return false;
    const lower = asciiLower(email);
    return adminEmails.has(lower) || (admins.has(name) && afterAt(lower) === domain);
  };

  return {
    resolve(claims, source, own) {
      const emailClaim = mapping?.email ?? 'email';
      const emailUnverified = !own && isFalse(claims.email_verified);
      const rawEmail = stringClaim(claims, emailClaim);
      const email = rawEmail === undefined || emailUnverified ? null : rawEmail;

      let name: string | undefined;
      if (mapping) {
        name = stringClaim(claims, mapping.username);
        if (name === undefined) throw principalError(`the token has no "${mapping.username}" claim`);
        if (mapping.email && rawEmail === undefined)
          throw principalError(`the token has no "${mapping.email}" claim`);
        if (rawEmail !== undefined && emailUnverified)
          throw principalError('its email is not verified by the identity provider');
        name = asciiLower(name);
      } else {
        const claim = claimOrder.find((c) => stringClaim(claims, c) !== undefined);
        if (claim === undefined) throw principalError(`it has none of the claims ${claimOrder.join(', ')}`);
        if (claim === emailClaim && emailUnverified)
          throw principalError('its email is not verified by the identity provider');
        name = asciiLower(beforeAt(stringClaim(claims, claim) ?? ''));
      }
      if (!isPrintableName(name))
        throw principalError('its principal name is empty or has control characters');

      const isBot = own && claims.isBot === true;
      const tokenType =
        own && typeof claims.tokenType === 'string' && TOKEN_TYPES.has(claims.tokenType)
          ? (claims.tokenType as TokenType)
          : null;
      if (!own && authorizer.enforcePrincipalDomain) {
        const emailDomain = email === null ? undefined : asciiLower(afterAt(email));
        if (emailDomain !== domain) {
          throw new InsufficientScopeError(
            `Only users of the domain ${authorizer.principalDomain} may use this service.`,
          );
        }
      }
      const exp = claims.exp;
      return Object.freeze({
        name,
        email,
        isBot,
        isAdmin: isAdmin(name, email, own),
        tokenType,
        issuer: typeof claims.iss === 'string' ? claims.iss : '',
        subject: typeof claims.sub === 'string' ? claims.sub : '',
        source,
        tokenId: typeof claims.jti === 'string' ? claims.jti : null,
        expiresAt: typeof exp === 'number' ? exp * 1000 : null,
        claims,
      });
    },
  };
}

/** `["username:preferred_username", "email:upn"]` → `{username, email}`; validated at start. */
function parseMapping(
  entries: readonly string[],
): { username: string; email: string | undefined } | undefined {
  if (entries.length === 0) return undefined;
  const map = new Map<string, string>();
  for (const entry of entries) {
    const [key, claim, extra] = entry.split(':');
    if (extra !== undefined || !claim || (key !== 'username' && key !== 'email') || map.has(key)) {
      throw new ConfigError(
        `authenticationConfiguration.jwtPrincipalClaimsMapping: "${entry}" is not valid; write entries as "username:<claim>" and "email:<claim>", each once.`,
      );
    }
    map.set(key, claim);
  }
  const username = map.get('username');
  if (username === undefined) {
    throw new ConfigError(
      'authenticationConfiguration.jwtPrincipalClaimsMapping needs a "username:<claim>" entry.',
    );
  }
  return { username, email: map.get('email') };
}

function stringClaim(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isFalse(value: unknown): boolean {
  return value === false || value === 'false';
}

function beforeAt(value: string): string {
  const at = value.indexOf('@');
  return at === -1 ? value : value.slice(0, at);
}

function afterAt(value: string): string {
  const at = value.lastIndexOf('@');
  return at === -1 ? '' : value.slice(at + 1);
}

/** Lower-cases A–Z only. */
export function asciiLower(value: string): string {
  if (!/[A-Z]/.test(value)) return value;
  // Without non-ASCII characters, the built-in lower-casing is the ASCII one.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(value)
    ? value.toLowerCase()
    : value.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

function isPrintableName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= 256 && !/[\u0000-\u001f\u007f]/.test(name);
}

function principalError(why: string): InvalidTokenError {
  return new InvalidTokenError('ERR_PRINCIPAL_INVALID', `The token cannot be used: ${why}.`);
}
