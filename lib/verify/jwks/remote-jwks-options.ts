/**
 * The options of a remote key source and their start-up checks: a mistake here stops the start
 * with a message naming the field, instead of surfacing later as 401s or 503s.
 */
import { ASYMMETRIC_ALGORITHM_SET } from '../../config/algorithms.js';
import type { AsymmetricAlgorithm, JwksFetchConfiguration } from '../../config/types.js';
import { ConfigError } from '../../errors.js';

/** Options of a `RemoteJwksSource`. */
export interface RemoteJwksSourceOptions {
  /** The JWKS URL (`http:` or `https:`). */
  url: string;
  /** Token algorithms this source accepts; keys fit for none of them are ignored. */
  algorithms: AsymmetricAlgorithm[];
  /** Fetch limits and cache lifetimes (`verificationConfiguration.jwks`). */
  fetch: JwksFetchConfiguration;
  /** Clock, ms since the epoch. Default `Date.now`. Tests inject one to skip cooldowns without sleeping. */
  now?: () => number;
  /** Label of the source (e.g. its issuer). Default: the URL. */
  name?: string;
}

/** Throws `ConfigError` for an unusable option; returns the parsed URL. */
export function validateRemoteJwksOptions(options: RemoteJwksSourceOptions): URL {
  const field = 'authenticationConfiguration.publicKeyUrls';
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError(
      `${field}: ${JSON.stringify(options.url)} is not a URL; give the JWKS URL, e.g. https://www.googleapis.com/oauth2/v3/certs`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${field}: ${JSON.stringify(options.url)} must be an http(s) URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in the URL would end up in every error message and health report.
    throw new ConfigError(`${field}: ${url.host}${url.pathname} must not embed a user name or password`);
  }

  if (options.algorithms.length === 0) {
    throw new ConfigError(
      `${field}: the source ${options.url} accepts no algorithms; list at least one, e.g. [RS256]`,
    );
  }
  for (const alg of options.algorithms) {
    if (!ASYMMETRIC_ALGORITHM_SET.has(alg)) {
      throw new ConfigError(
        `${field}: algorithm ${JSON.stringify(alg)} of ${options.url} is not accepted; use one of ${[...ASYMMETRIC_ALGORITHM_SET].join(', ')}`,
      );
    }
  }

  const jwks = options.fetch;
  const positive = ['timeoutMs', 'maxResponseBytes', 'maxKeys'] as const;
  const nonNegative = [
    'cooldownSeconds',
    'minCacheSeconds',
    'maxCacheSeconds',
    'defaultCacheSeconds',
    'staleIfErrorSeconds',
  ] as const;
  for (const name of positive) {
    if (!Number.isFinite(jwks[name]) || jwks[name] <= 0) {
      throw new ConfigError(
        `verificationConfiguration.jwks.${name} must be a positive number (got ${String(jwks[name])})`,
      );
    }
  }
  for (const name of nonNegative) {
    if (!Number.isFinite(jwks[name]) || jwks[name] < 0) {
      throw new ConfigError(
        `verificationConfiguration.jwks.${name} must be zero or more seconds (got ${String(jwks[name])})`,
      );
    }
  }
  if (jwks.maxCacheSeconds < jwks.minCacheSeconds) {
    throw new ConfigError(
      `verificationConfiguration.jwks.maxCacheSeconds (${jwks.maxCacheSeconds}) must not be below minCacheSeconds (${jwks.minCacheSeconds})`,
    );
  }
  return url;
}
