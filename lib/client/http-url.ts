/**
 * Base URLs of the servers our clients call, and how request paths join them. Paths are appended
 * as text (never resolved with `new URL(path, base)`), so a path such as `//other.host/x` stays
 * on the configured server: the bearer token only ever goes to `hostPort` / `apiEndpoint`.
 */
import { isLoopbackHost } from '../config/url-rules.js';
import { ConfigError } from '../errors.js';

/** Whether plain http is allowed for a base URL, and the option that allows it, for messages. */
export interface PlainHttpPolicy {
  /** `allowInsecureHttp: true`: plain http to any host. Otherwise only to loopback. */
  allowed: boolean;
  /** Where `allowInsecureHttp` is set, e.g. `airflowConfiguration.allowInsecureHttp`. */
  option: string;
  /** The environment variable that also sets it, if any. */
  env?: string;
}

/**
 * Reads an `allowInsecureHttp` value: absent means false.
 * @param option where it is set, for messages (e.g. `airflowConfiguration.allowInsecureHttp`).
 * @param env the environment variable that also sets it, if any.
 * @throws ConfigError when it is neither a boolean nor absent.
 */
export function plainHttpPolicy(value: unknown, option: string, env?: string): PlainHttpPolicy {
  if (value !== undefined && typeof value !== 'boolean') {
    const got = typeof value === 'string' ? `"${value}"` : `a ${typeof value}`;
    throw new ConfigError(`${option} must be true or false, got ${got}`);
  }
  return { allowed: value === true, option, ...(env === undefined ? {} : { env }) };
}

/**
 * What is wrong with a base URL, or undefined when it is an absolute http(s) URL without
 * credentials, and https unless it is loopback or `plainHttp.allowed`. Every call carries a bot
 * token, which plain http shows to anyone on the path, so that is refused here, at creation,
 * before any request is sent.
 */
export function httpUrlProblem(
  text: string,
  example: string,
  plainHttp: PlainHttpPolicy,
): string | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // `localhost:8585` parses as a URL of scheme `localhost:`; say what is expected instead.
    const got = text.includes('@') ? 'a value with credentials (not shown)' : `"${text}"`;
    return `must be an absolute http(s) URL like ${example}, got ${got}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain a user name or password: authentication is the bearer token';
  }
  if (url.search !== '' || url.hash !== '') {
    return `must not have a query or fragment: it is the base that request paths are appended to, like ${example}`;
  }
  if (url.protocol === 'http:' && !plainHttp.allowed && !isLoopbackName(url.hostname)) {
    return (
      `uses plain http to ${url.hostname}, got "${text}": plain http would expose the bot token to anyone ` +
      `on the network path. Use https, or set ${plainHttp.option}: true` +
      `${plainHttp.env === undefined ? '' : ` (env ${plainHttp.env}=true)`} if the network to ${url.hostname} ` +
      'is trusted (plain http is allowed without it only to localhost, 127.0.0.0/8 and [::1])'
    );
  }
  return undefined;
}

/**
 * The config's loopback test, as for JWKS URLs. Not `*.localhost`: RFC 6761 says those names are
 * loopback, but a system resolver may still ask DNS for them, and the token would follow.
 */
function isLoopbackName(hostname: string): boolean {
  return isLoopbackHost(hostname);
}

/** `http://h/api/` → `http://h/api`. */
export function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `('http://h/api', 'v1/tables')` → `http://h/api/v1/tables`. */
export function joinUrl(base: string, path: string): string {
  return `${base}${path.startsWith('/') ? '' : '/'}${path}`;
}
