import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { DEV_SSO_CLIENT_ID, startTestSso, useTestSso } from './support/sso-login.js';

const BOTS_PAGE_CALLBACK = 'http://localhost:8585/settings/bots/callback';
const EXTRA_CLIENT = { clientId: 'other-app', redirectUris: ['http://127.0.0.1:7000/cb'] };

/** An /auth URL for the default client; `pkce: false` leaves out the code challenge. */
function authorizeUrl(issuer: string, { pkce = true, method = 'S256' } = {}): URL {
  const url = new URL('/auth', issuer);
  url.searchParams.set('client_id', DEV_SSO_CLIENT_ID);
  url.searchParams.set('redirect_uri', BOTS_PAGE_CALLBACK);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'openid profile email');
  if (pkce) {
    const verifier = randomBytes(32).toString('base64url');
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', method);
  }
  return url;
}

function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0])
    .join('; ');
}

describe('development SSO', function () {
  const sso = useTestSso({ clients: [EXTRA_CLIENT] });

  it('publishes a discovery document naming its issuer, JWKS and S256 PKCE', async function () {
    const { issuer, jwksUri, port } = sso();
    assert.equal(issuer, `http://localhost:${port}`);
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const discovery = (await res.json()) as Record<string, unknown>;
    assert.equal(discovery.issuer, issuer);
    assert.equal(discovery.jwks_uri, `${issuer}/jwks`);
    assert.equal(jwksUri, `${issuer}/jwks`);
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  });

  it('logs admin in with authorization code + PKCE; jose verifies the RS256 ID token and its claims', async function () {
    const { issuer, jwksUri } = sso();
    const { idToken, accessToken } = await sso().login('admin', 'admin', { nonce: 'n-42' });
    assert.equal(typeof accessToken, 'string');
    const { payload, protectedHeader } = await jwtVerify(idToken, createRemoteJWKSet(new URL(jwksUri)), {
      issuer,
      audience: DEV_SSO_CLIENT_ID,
      algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.equal(payload.sub, 'admin');
    assert.equal(payload.email, 'admin@example.com');
    assert.equal(payload.email_verified, true);
    assert.equal(payload.preferred_username, 'admin');
    assert.equal(payload.name, 'Demo Admin');
    assert.equal(payload.nonce, 'n-42');
    assert.equal(payload.exp! - payload.iat!, 3600);
  });

  it('logs the non-admin alice in, and issues tokens for extra clients with their own audience', async function () {
    const alice = decodeJwt((await sso().login('alice', 'alice')).idToken);
    assert.equal(alice.email, 'alice@example.com');
    assert.equal(alice.preferred_username, 'alice');
    const other = decodeJwt(
      (await sso().login('admin', 'admin', { clientId: EXTRA_CLIENT.clientId })).idToken,
    );
    assert.equal(other.aud, EXTRA_CLIENT.clientId);
  });

  it('refuses a wrong password: the form comes back with an error (escaped) and no code', async function () {
    await assert.rejects(sso().login('admin', 'wrong'), /refused for "admin": Invalid username or password/);

    // The same by hand, as a browser sees it.
    const auth = await fetch(authorizeUrl(sso().issuer), { redirect: 'manual' });
    assert.equal(auth.status, 303);
    const interaction = new URL(auth.headers.get('location')!, sso().issuer);
    assert.match(interaction.pathname, /^\/interaction\/[\w-]+$/);
    const cookie = cookiesOf(auth);
    const form = await fetch(interaction, { headers: { cookie } });
    assert.equal(form.status, 200);
    const formHtml = await form.text();
    assert.match(formHtml, /Development SSO — not for production/);
    assert.match(formHtml, /name="password" type="password"/);

    const refused = await fetch(new URL(`${interaction.pathname}/login`, sso().issuer), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: '<b>admin</b>', password: 'admin' }).toString(),
    });
    assert.equal(refused.status, 200);
    assert.equal(refused.headers.get('location'), null);
    const refusedHtml = await refused.text();
    assert.match(refusedHtml, /Invalid username or password\./);
    assert.match(refusedHtml, /value="&lt;b&gt;admin&lt;\/b&gt;"/);
    assert.doesNotMatch(refusedHtml, /<b>admin<\/b>/);
  });

  it('requires PKCE with S256: /auth without a code challenge (or with plain) is refused', async function () {
    for (const url of [
      authorizeUrl(sso().issuer, { pkce: false }),
      authorizeUrl(sso().issuer, { method: 'plain' }),
    ]) {
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 303);
      const back = new URL(res.headers.get('location')!);
      assert.equal(`${back.origin}${back.pathname}`, BOTS_PAGE_CALLBACK);
      assert.equal(back.searchParams.get('error'), 'invalid_request');
      assert.equal(back.searchParams.get('code'), null);
    }
  });

  it("allows CORS token requests from the client's redirect origin only", async function () {
    const tokenRequest = (origin: string): Promise<Response> =>
      fetch(`${sso().issuer}/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: 'x',
          client_id: DEV_SSO_CLIENT_ID,
        }).toString(),
      });
    const allowed = await tokenRequest('http://localhost:8585');
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:8585');
    const other = await tokenRequest('http://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.match(((await other.json()) as { error_description: string }).error_description, /not allowed/);
  });

  it('refuses to start when NODE_ENV=production, pointing at the real SSO settings', async function () {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await assert.rejects(startTestSso(), {
        name: 'ConfigError',
        code: 'ERR_CONFIG_INVALID',
        message: /development only.*authority.*publicKeyUrls.*clientId/s,
      });
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
  });
});
