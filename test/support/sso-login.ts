/**
 * Real SSO ID tokens for tests: a development OpenID provider (oidc-provider) on 127.0.0.1, any
 * free port, and a login helper that runs the real authorization-code + PKCE flow over HTTP.
 *
 * @example
 * const sso = await startTestSso();
 * const { idToken } = await sso.login('admin', 'admin'); // iss = sso.issuer, aud = DEV_SSO_CLIENT_ID
 * // jwt-gate config: authority = sso.issuer, publicKeyUrls = [sso.jwksUri], clientId = DEV_SSO_CLIENT_ID
 * await sso.close();
 */
import { startDevSso } from '../../example-app/dev-sso/index.js';
import type { DevSso, DevSsoOptions, HeadlessLoginResult } from '../../example-app/dev-sso/index.js';

export { DEFAULT_DEV_USERS, DEV_SSO_CLIENT_ID } from '../../example-app/dev-sso/index.js';
export type { DevSso, DevSsoOptions, DevUser, HeadlessLoginResult } from '../../example-app/dev-sso/index.js';

/** Starts a dev SSO for a test on 127.0.0.1 and a free port (`issuer` = `http://localhost:<port>`). */
export function startTestSso(opts: DevSsoOptions = {}): Promise<DevSso> {
  return startDevSso({ port: 0, host: '127.0.0.1', ...opts });
}

/**
 * Signs `username` in through the real flow and returns its tokens; the ID token's `aud` is the
 * client id (default `jwt-gate-bots-page`). Rejects when the password is refused.
 */
export function ssoLogin(
  sso: DevSso,
  username: string,
  password: string,
  opts?: { clientId?: string; redirectUri?: string; nonce?: string },
): Promise<HeadlessLoginResult> {
  return sso.login(username, password, opts);
}

/**
 * Mocha: one dev SSO for the enclosing `describe` (started in `before`, closed in `after`).
 *
 * @example
 * const sso = useTestSso();
 * it('…', async () => { const { idToken } = await sso().login('alice', 'alice'); });
 */
export function useTestSso(opts: DevSsoOptions = {}): () => DevSso {
  let running: DevSso | undefined;
  before(async function startSso() {
    running = await startTestSso(opts);
  });
  after(async function closeSso() {
    await running?.close();
    running = undefined;
  });
  return () => {
    if (running === undefined)
      throw new Error('useTestSso(): the SSO is only running inside the describe block');
    return running;
  };
}
