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
