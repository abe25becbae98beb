import type { AsymmetricAlgorithm, ResolvedConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { JWKS_PATHS } from '../keys/jwks-paths.js';
import type { KeySet } from '../keys/key-set.js';
import { RemoteJwksSource } from './jwks/remote-jwks-source.js';
import type { KeySource } from './key-source.js';
import { createScopeRule, type ScopeRule } from './scopes.js';
import { createSelfKeySource } from './self-key-source.js';

/** Google's certs URL, and the two `iss` spellings Google uses (OpenID Connect Core §2). */
export const GOOGLE_CERTS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'] as const;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface KeySources {
  /** Our own keys; `null` when the gate has none (it verifies SSO tokens only). */
  readonly self: KeySource | null;
  readonly all: readonly KeySource[];
  /** Exact `iss` → the one source trusted for it. */
  readonly byIssuer: ReadonlyMap<string, KeySource>;
}

/**
 * One key source per `publicKeyUrls` entry plus our own keys, each bound to its issuer(s),
 * audience and algorithms, so that a token is judged only by the keys and rules of the issuer it
 * names (docs/security.md). Our own JWKS URL, when listed, maps to the local keys.
 * Two sources claiming one issuer is a configuration error: a token must have exactly one judge.
 */
export function buildKeySources(
  config: ResolvedConfig,
  keySet: KeySet | null,
  now?: () => number,
): KeySources {
  const jwt = config.jwtTokenConfiguration;
  const auth = config.authenticationConfiguration;
  const self = keySet === null ? null : createSelfKeySource(keySet, jwt.jwtissuer, jwt.audience);
  const sources: KeySource[] = self === null ? [] : [self];

  auth.publicKeyUrls.forEach((entry, index) => {
    const field = `authenticationConfiguration.publicKeyUrls[${index}]`;
    const url = typeof entry === 'string' ? entry : entry.url;
    if (typeof entry === 'string' && isOwnJwksUrl(url, config)) return;
    let issuers: string[];
    let audiences: string[] | null;
    let algorithms: AsymmetricAlgorithm[];
    let trustBotClaims = false;
    let scopes: ScopeRule;
    if (typeof entry === 'string') {
      const google = url === GOOGLE_CERTS_URL || auth.provider === 'google';
      issuers = google ? [...GOOGLE_ISSUERS] : [auth.authority];
      if (!auth.clientId) {
        throw new ConfigError(
          `authenticationConfiguration.clientId (AUTHENTICATION_CLIENT_ID) is required: it is the audience tokens from ${url} must carry. Set it to your SSO application's client id, or write ${field} as {url, issuer, audience}.`,
        );
      }
      if (!google && !auth.authority) {
        throw new ConfigError(
          `authenticationConfiguration.authority (AUTHENTICATION_AUTHORITY) is required: it is the issuer tokens from ${url} must carry.`,
        );
      }
      audiences = [auth.clientId];
      algorithms = ['RS256'];
      scopes = createScopeRule(auth.scopeClaim || null, auth.defaultScopes);
    } else {
      issuers = toList(entry.issuer);
      audiences = toList(entry.audience);
      algorithms = entry.algorithms ?? ['RS256'];
      trustBotClaims = entry.trustBotClaims === true;
      scopes = createScopeRule(entry.scopeClaim, entry.defaultScopes ?? []);
    }
    const remote = new RemoteJwksSource({
      url,
      algorithms,
      fetch: config.verificationConfiguration.jwks,
      ...(now ? { now } : {}),
      name: url,
    });
    sources.push({
      name: url,
      kind: 'remote',
      issuers,
      audiences,
      algorithms,
      requireExp: true,
      trustBotClaims,
      scopes,
      getKeySync: (kid, alg) => remote.getKeySync(kid, alg),
      getKey: (kid, alg) => remote.getKey(kid, alg),
      onKeysChanged: (listener) => remote.onKeysChanged(listener),
      prefetch: () => remote.prefetch(),
      health: () => ({ ...remote.health(), name: url, kind: 'remote' }),
      close: () => remote.close(),
    });
  });

  const byIssuer = new Map<string, KeySource>();
  for (const source of sources) {
    for (const issuer of source.issuers) {
      const other = byIssuer.get(issuer);
      if (other !== undefined) {
        throw new ConfigError(
          `authenticationConfiguration.publicKeyUrls: both ${describe(other)} and ${describe(source)} would verify tokens issued by "${issuer}". Each issuer must have one key source: give the entries distinct issuers ({url, issuer, audience}) or remove one.`,
        );
      }
      byIssuer.set(issuer, source);
    }
  }
  return { self, all: sources, byIssuer };
}

/**
 * Our own JWKS: the reference documents appending `http://localhost:8585/api/v1/config/jwks`.
 * Recognised on a loopback host at our own port, or under `airflowConfiguration.metadataApiEndpoint`.
 */
export function isOwnJwksUrl(url: string, config: ResolvedConfig): boolean {
  const parsed = new URL(url);
  const path = parsed.pathname;
  if (!(JWKS_PATHS as readonly string[]).includes(path)) {
    const api = config.airflowConfiguration.metadataApiEndpoint.replace(/\/+$/, '');
    return url === `${api}/v1/config/jwks` || url === `${api}/v1/system/config/jwks`;
  }
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  if (LOOPBACK.has(parsed.hostname) && port === config.server.port) return true;
  const api = new URL(config.airflowConfiguration.metadataApiEndpoint);
  return parsed.origin === api.origin;
}

function toList(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

function describe(source: KeySource): string {
  return source.kind === 'self' ? "this server's own keys (jwtTokenConfiguration.jwtissuer)" : source.name;
}
