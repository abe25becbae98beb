import type { AuthenticationConfiguration, AuthorizerConfiguration, TokenType } from '../config/types.js';
import { ConfigError, InsufficientScopeError, InvalidTokenError } from '../errors.js';
import type { Principal } from './principal.js';
import type { BotTokenGuard } from './bot-token-guard.js';
import { resolveBotScopes, resolveScopes, type ScopeRule } from './scopes.js';

const TOKEN_TYPES: ReadonlySet<string> = new Set<TokenType>(['BOT', 'PERSONAL_ACCESS', 'OM_USER']);

/**
 * How far a verified token's own claims are believed. `self`: signed by our keys (we minted it).
 * `peer`: signed by a jwt-gate peer trusted with `trustBotClaims` (it shares our store). `external`:
 * an SSO token.
 */
export type TokenTrust = 'self' | 'peer' | 'external';

export interface PrincipalPolicy {
  /** Resolves the principal of a verified token; its scopes by its source's `scopeRule`. */
  resolve(
    claims: Readonly<Record<string, unknown>>,
    source: string,
    trust: TokenTrust,
    scopeRule: ScopeRule,
  ): Principal;
}

/**
 * Builds the principal resolver from `jwtPrincipalClaims` / `jwtPrincipalClaimsMapping` and the
 * authorizer block. Names are lower-cased in ASCII only: no Unicode case folding or normalisation,
 * so `ADMIN` is `admin` but the Kelvin sign `K` never becomes `k` (no look-alike admin names).
 */
export function createPrincipalPolicy(
  auth: Pick<AuthenticationConfiguration, 'jwtPrincipalClaims' | 'jwtPrincipalClaimsMapping'>,
  authorizer: AuthorizerConfiguration,
  bots?: Pick<BotTokenGuard, 'allowedScopes'>,
): PrincipalPolicy {
  const mapping = parseMapping(auth.jwtPrincipalClaimsMapping);
  const claimOrder = auth.jwtPrincipalClaims;
  const emailClaim = mapping?.email ?? 'email';
  const listed = authorizer.adminPrincipals.map(asciiLower);
  const admins = new Set(listed.filter((a) => !a.includes('@')));
  const adminEmails = new Set(listed.filter((a) => a.includes('@')));
  const domain = asciiLower(authorizer.principalDomain);
  /**
   * Bot and user tokens we minted name their holder: the name decides. Anyone else's token is an
   * admin's only through its verified email — `<listed name>@principalDomain`, or an email listed
   * in full — whichever claim the display name came from, since a user may choose a
   * `preferred_username` or `sub` but not a verified address. A personal access token is its
   * person's: judged by the email it was minted with, against the list as it is now.
   */
  const isAdmin = (name: string, email: Email | null, byName: boolean): boolean => {
    if (byName) return admins.has(name);
    if (email === null) return false;
    return adminEmails.has(email.address) || (admins.has(email.local) && email.domain === domain);
  };

  return {
    resolve(claims, source, trust, scopeRule) {
      // Our personal access tokens: the person's name is their `sub`, their verified email (if any)
      // the `email` we copied from their sign-in; never a bot, never an admin by name alone.
      if (trust === 'self' && claims.tokenType === 'PERSONAL_ACCESS')
        return resolvePersonal(claims, source, scopeRule);
      const believed = trust !== 'external';
      const emailUnverified = !believed && isFalse(claims.email_verified);
      const rawEmail = stringClaim(claims, emailClaim);
      // A malformed address yields nothing: `admin@evil.com@example.com` would be one name and
      // another domain depending on which `@` is taken.
      const parsed = rawEmail === undefined ? null : parseEmail(rawEmail);
      if (rawEmail !== undefined && parsed === null)
        throw principalError(`its "${emailClaim}" claim is not a single email address`);
      const email = emailUnverified ? null : parsed;

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

      const isBot = believed && claims.isBot === true;
      const tokenType =
        believed && typeof claims.tokenType === 'string' && TOKEN_TYPES.has(claims.tokenType)
          ? (claims.tokenType as TokenType)
          : null;
      if (!believed && authorizer.enforcePrincipalDomain && email?.domain !== domain) {
        throw new InsufficientScopeError(
          `Only users of the domain ${authorizer.principalDomain} may use this service.`,
        );
      }
      // Our bot tokens hold what their bot is allowed now; everyone else what their token says.
      const scopes =
        tokenType === 'BOT'
          ? resolveBotScopes(claims, scopeRule, bots?.allowedScopes?.(stringClaim(claims, 'sub') ?? ''))
          : resolveScopes(claims, scopeRule);
      const exp = claims.exp;
      return Object.freeze({
        name,
        email: email === null ? null : (rawEmail ?? null),
        isBot,
        isAdmin: isAdmin(name, email, trust === 'self'),
        tokenType,
        issuer: typeof claims.iss === 'string' ? claims.iss : '',
        subject: typeof claims.sub === 'string' ? claims.sub : '',
        source,
        tokenId: typeof claims.jti === 'string' ? claims.jti : null,
        scopes,
        expiresAt: typeof exp === 'number' ? exp * 1000 : null,
        claims,
      });
    },
  };

  function resolvePersonal(
    claims: Readonly<Record<string, unknown>>,
    source: string,
    scopeRule: ScopeRule,
  ): Principal {
    const sub = stringClaim(claims, 'sub');
    const name = sub === undefined ? '' : asciiLower(sub);
    if (!isPrintableName(name)) throw principalError('its "sub" claim is not a principal name');
    const rawEmail = stringClaim(claims, 'email');
    const email = rawEmail === undefined ? null : parseEmail(rawEmail);
    if (rawEmail !== undefined && email === null)
      throw principalError('its "email" claim is not a single email address');
    if (authorizer.enforcePrincipalDomain && email?.domain !== domain) {
      throw new InsufficientScopeError(
        `Only users of the domain ${authorizer.principalDomain} may use this service.`,
      );
    }
    const exp = claims.exp;
    return Object.freeze({
      name,
      email: rawEmail ?? null,
      isBot: false,
      isAdmin: isAdmin(name, email, false),
      tokenType: 'PERSONAL_ACCESS',
      issuer: typeof claims.iss === 'string' ? claims.iss : '',
      subject: sub ?? '',
      source,
      tokenId: typeof claims.jti === 'string' ? claims.jti : null,
      scopes: resolveScopes(claims, scopeRule),
      expiresAt: typeof exp === 'number' ? exp * 1000 : null,
      claims,
    });
  }
}

/** An email claim split once: `address` lower-cased in ASCII, `local` before and `domain` after its one `@`. */
interface Email {
  address: string;
  local: string;
  domain: string;
}

/**
 * `local@domain` with exactly one `@`, both sides non-empty, no whitespace or control characters,
 * at most 320 characters (RFC 5321 §4.5.3.1); anything else is `null`. Quoted local parts that
 * contain `@` (RFC 5322) are refused too: no IdP issues them, and they split two ways.
 */
function parseEmail(value: string): Email | null {
  if (value.length > 320) return null;
  const address = asciiLower(value);
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@') || at === address.length - 1) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(address)) return null;
  return { address, local: address.slice(0, at), domain: address.slice(at + 1) };
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
