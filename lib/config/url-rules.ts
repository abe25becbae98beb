/**
 * Rules for URLs in the configuration. A JWKS fetched over plain http can be replaced by anyone
 * on the path, and whoever controls the keys controls every login, so http is allowed only to
 * this machine (loopback), where the dev SSO and tests run.
 */

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** `localhost`, 127.0.0.0/8 or `[::1]` (hostnames as `new URL()` normalises them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || LOOPBACK_V4.test(host);
}

/** What is wrong with a JWKS URL, or undefined when it is acceptable. */
export function jwksUrlProblem(text: string): string | undefined {
  const example = 'https://idp.example.com/.well-known/jwks.json';
  if (!URL.canParse(text)) return `must be an absolute http(s) URL, got {got}: write it like ${example}`;
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `must be an http(s) URL, got {got}: write it like ${example}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain a user name or password: JWKS are public, fetch them without credentials';
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return (
      `uses plain http to ${url.hostname}, got {got}: keys fetched over http can be forged on the way, ` +
      'so use https (plain http is allowed only to localhost, 127.0.0.0/8 and [::1])'
    );
  }
  return undefined;
}

/**
 * What is wrong with `protectedResourceConfiguration.resource`, the API's resource identifier
 * (RFC 9728 §1.2), or undefined when it is acceptable: an absolute https URL (http only to
 * loopback), no user name, query or fragment, written canonically (lower-case scheme and host, no
 * default port, no "/" after the host alone) so that the `resource` of the metadata document is
 * exactly the identifier clients derive its URL from. Its path is matched exactly, so it must be
 * plain (letters, digits, `-._~`, single "/" between segments, no "." or ".." segment, no
 * trailing "/"). `''` means "not configured" and is acceptable.
 */
export function resourceIdentifierProblem(text: string): string | undefined {
  const example = 'https://api.example.com or https://api.example.com/api';
  if (text === '') return undefined;
  if (!URL.canParse(text)) return `must be an absolute https URL, got {got}: write it like ${example}`;
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `must be an https URL, got {got}: write it like ${example}`;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return `uses plain http to ${url.hostname}, got {got}: use https (plain http is allowed only to localhost, 127.0.0.0/8 and [::1])`;
  }
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (url.search !== '' || text.includes('?')) return 'must not have a query (RFC 9728 §1.2), got {got}';
  if (url.hash !== '' || text.includes('#')) return 'must not have a fragment (RFC 9728 §1.2), got {got}';
  const path = url.pathname === '/' ? '' : url.pathname;
  if (path !== '' && !PLAIN_RESOURCE_PATH.test(path)) {
    return (
      'must have a plain path (letters, digits, "-", ".", "_", "~" between single "/", no "." or ".." ' +
      'segment, no trailing "/"), got {got}: its metadata is served at an exact path'
    );
  }
  const canonical = `${url.origin}${path}`;
  if (text !== canonical) return `must be written canonically as ${canonical}, got {got}`;
  return undefined;
}

/**
 * What is wrong with `dpopConfiguration.externalOrigin` — an origin (`https://api.example.com`,
 * `http://localhost:8585`): scheme, host and port only — or undefined. `''` (not set) is fine.
 */
export function originProblem(text: string): string | undefined {
  const example = 'https://api.example.com';
  if (text === '') return undefined;
  if (!URL.canParse(text)) return `must be an origin like ${example}, got {got}`;
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `must be an http(s) origin like ${example}, got {got}`;
  if (text !== url.origin)
    return `must be an origin only (scheme, host, port; no path or trailing "/"), written ${url.origin}, got {got}`;
  return undefined;
}

const PLAIN_RESOURCE_PATH = /^(\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~]+)+$/;

/** What is wrong with `database.url`, or undefined when it is acceptable. */
export function databaseUrlProblem(text: string): string | undefined {
  const expected =
    'must be sqlite:<path> (e.g. sqlite:./data/jwt-gate.db), postgres://user@host:5432/db ' +
    '(or postgresql://…) or memory:';
  if (text === 'memory:') return undefined;
  if (text.startsWith('sqlite:')) {
    return text.length > 'sqlite:'.length ? undefined : `${expected}; got {got}, which names no file`;
  }
  if (/^postgres(ql)?:\/\//i.test(text)) {
    return URL.canParse(text) && new URL(text).hostname !== ''
      ? undefined
      : `${expected}; got {got}, which is not a valid PostgreSQL URL`;
  }
  return `${expected}, got {got}`;
}

/** Hides the password of a URL-like value before it is shown in a message. */
export function redactUrlPassword(text: string): string {
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (url.password === '') return text;
  url.password = '***';
  return url.href;
}
