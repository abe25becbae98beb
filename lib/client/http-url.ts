/**
 * Base URLs of the servers our clients call, and how request paths join them. Paths are appended
 * as text (never resolved with `new URL(path, base)`), so a path such as `//other.host/x` stays
 * on the configured server: the bearer token only ever goes to `hostPort` / `apiEndpoint`.
 */

/** What is wrong with a base URL, or undefined when it is an absolute http(s) URL without credentials. */
export function httpUrlProblem(text: string, example: string): string | undefined {
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
  return undefined;
}

/** `http://h/api/` → `http://h/api`. */
export function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `('http://h/api', 'v1/tables')` → `http://h/api/v1/tables`. */
export function joinUrl(base: string, path: string): string {
  return `${base}${path.startsWith('/') ? '' : '/'}${path}`;
}
