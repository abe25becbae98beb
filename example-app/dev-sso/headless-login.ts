import { createHash, randomBytes } from 'node:crypto';

/** Options of `loginWithAuthorizationCode()`. */
export interface HeadlessLoginOptions {
  /** Where to send requests, e.g. `http://127.0.0.1:9090` (may differ from the issuer's host). */
  baseUrl: string;
  /** The provider's issuer; redirects to it are followed at `baseUrl` instead. */
  issuer: string;
  clientId: string;
  /** A registered redirect URI. It is never called: the code is read from the redirect to it. */
  redirectUri: string;
  username: string;
  password: string;
  /** Sent as `nonce` and checked in the ID token. Default: a random value. */
  nonce?: string;
  /** Default `openid profile email`. */
  scope?: string;
}

export interface HeadlessLoginResult {
  idToken: string;
  accessToken?: string;
}

/** Redirect hops before giving up (a healthy login takes about five). */
const MAX_STEPS = 12;

/**
 * A real OpenID Connect authorization-code + PKCE (S256) login over HTTP, without a browser:
 * `GET /auth` → the login page → `POST` the form → the redirects (with cookies) → the `code` on the
 * redirect to `redirectUri` → `POST /token` with the `code_verifier`. For tests and scripts.
 *
 * @throws Error when the credentials are refused, the provider answers an OAuth error, or the
 *   `state`/`nonce` do not match. Messages never contain a token or the password.
 */
export async function loginWithAuthorizationCode(opts: HeadlessLoginOptions): Promise<HeadlessLoginResult> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = opts.nonce ?? randomBytes(16).toString('base64url');
  const authorize = new URL('/auth', opts.baseUrl);
  authorize.search = new URLSearchParams({
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    response_type: 'code',
    scope: opts.scope ?? 'openid profile email',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce,
  }).toString();

  const code = await followToCode(opts, authorize, state);
  const tokens = await redeemCode(opts, code, verifier);
  const idTokenNonce = decodePayload(tokens.idToken).nonce;
  if (idTokenNonce !== nonce)
    throw new Error('dev SSO login: the ID token does not carry the nonce that was sent');
  return tokens;
}

async function followToCode(opts: HeadlessLoginOptions, start: URL, state: string): Promise<string> {
  const jar = new CookieJar();
  const issuerOrigin = new URL(opts.issuer).origin;
  const redirectTarget = new URL(opts.redirectUri);
  let request: { url: URL; form?: URLSearchParams } = { url: start };
  let submitted = false;

  for (let step = 0; step < MAX_STEPS; step++) {
    const res = await fetch(request.url, {
      method: request.form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: {
        ...jar.header(),
        ...(request.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(request.form === undefined ? {} : { body: request.form.toString() }),
    });
    jar.store(res.headers.getSetCookie());
    const location = res.headers.get('location');

    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel();
      const next = new URL(location, request.url);
      if (next.origin === redirectTarget.origin && next.pathname === redirectTarget.pathname) {
        return readCode(next, state);
      }
      // The provider writes its own absolute URLs with the issuer's host; we talk to baseUrl.
      if (next.origin === issuerOrigin) {
        const local = new URL(next.pathname + next.search, opts.baseUrl);
        request = { url: local };
      } else {
        request = { url: next };
      }
      continue;
    }

    const html = await res.text();
    const action = /<form[^>]*\baction="([^"]+)"/i.exec(html)?.[1];
    if (!res.ok || action === undefined) {
      throw new Error(
        `dev SSO login: unexpected ${res.status} from ${request.url.pathname}: ${describePage(html)}`,
      );
    }
    if (submitted) {
      throw new Error(`dev SSO login refused for "${opts.username}": ${describePage(html)}`);
    }
    submitted = true;
    request = {
      url: new URL(decodeEntities(action), request.url),
      form: new URLSearchParams({ username: opts.username, password: opts.password }),
    };
  }
  throw new Error(`dev SSO login: no redirect to ${opts.redirectUri} after ${MAX_STEPS} steps`);
}

function readCode(redirect: URL, state: string): string {
  const error = redirect.searchParams.get('error');
  if (error !== null) {
    const description = redirect.searchParams.get('error_description');
    throw new Error(
      `dev SSO login: authorization failed: ${error}${description === null ? '' : ` (${description})`}`,
    );
  }
  if (redirect.searchParams.get('state') !== state)
    throw new Error('dev SSO login: the state parameter does not match');
  const code = redirect.searchParams.get('code');
  if (code === null) throw new Error('dev SSO login: the redirect carries no code');
  return code;
}

async function redeemCode(
  opts: HeadlessLoginOptions,
  code: string,
  verifier: string,
): Promise<HeadlessLoginResult> {
  const res = await fetch(new URL('/token', opts.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: opts.redirectUri,
      client_id: opts.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof body.id_token !== 'string') {
    const error = typeof body.error === 'string' ? body.error : 'no id_token';
    throw new Error(`dev SSO login: token request failed (${res.status} ${error})`);
  }
  return {
    idToken: body.id_token,
    ...(typeof body.access_token === 'string' ? { accessToken: body.access_token } : {}),
  };
}

function decodePayload(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The error message (or title) of an HTML page, for error messages. */
function describePage(html: string): string {
  const text = /role="alert">([^<]*)</.exec(html)?.[1] ?? /<title>([^<]*)</.exec(html)?.[1] ?? 'no message';
  return decodeEntities(text).trim();
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : "'",
  );
}

/**
 * Just enough of a cookie jar for one login against one server: cookies by name, dropped when the
 * server expires them. Domain and path are ignored, which is safe for a single-origin flow.
 */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      if (attributes.some(isExpiry)) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  header(): Record<string, string> {
    if (this.#cookies.size === 0) return {};
    return { cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}

/** True for `Max-Age=0` (or less) and an `Expires` in the past: the server deletes the cookie. */
function isExpiry(attribute: string): boolean {
  const [key = '', value = ''] = attribute.split('=').map((part) => part.trim());
  if (/^max-age$/i.test(key)) return Number(value) <= 0;
  if (/^expires$/i.test(key)) return Date.parse(value) <= Date.now();
  return false;
}
