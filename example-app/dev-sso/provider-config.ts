import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import type { Account, ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';

import type { ResolvedDevSsoOptions } from './dev-sso-options.js';
import { createMemoryAdapter } from './memory-adapter.js';
import { PAGE_CSP, renderErrorPage, renderLoggedOutPage, renderLogoutPage } from './login-views.js';

const generateRsaKeyPair = promisify(generateKeyPair);

/** ID tokens live one hour, like most hosted IdPs. */
const ID_TOKEN_TTL_SECONDS = 3600;

/** The scopes the consent step grants, and the claims each one releases. */
export const CLAIMS_BY_SCOPE: Readonly<Record<string, string[]>> = Object.freeze({
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username'],
});

/**
 * A fresh RS256 signing key as a private JWK, `kid` = its RFC 7638 thumbprint. Generated per start
 * and kept in memory only, so a restarted dev SSO invalidates every token it issued.
 */
export async function generateSigningJwk(): Promise<Record<string, unknown>> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const thumbprintInput = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  const kid = createHash('sha256').update(thumbprintInput).digest('base64url');
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

/** oidc-provider's configuration for the dev SSO: public PKCE clients, our pages, our accounts. */
export function buildProviderConfiguration(
  opts: ResolvedDevSsoOptions,
  signingJwk: Record<string, unknown>,
): Configuration {
  const usersByName = new Map(opts.users.map((user) => [user.username, user]));
  const corsOriginsByClient = new Map(
    opts.clients.map((client) => [
      client.clientId,
      new Set([...client.redirectUris, ...client.postLogoutRedirectUris].map((uri) => new URL(uri).origin)),
    ]),
  );

  return {
    adapter: createMemoryAdapter(),
    clients: opts.clients.map(toClientMetadata),
    jwks: { keys: [signingJwk] },
    // Signed-cookie keys for the session and interaction cookies; a new set each start.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { ...CLAIMS_BY_SCOPE },
    // Put the scope's claims in the ID token itself: the OpenMetadata UI sends the ID token as the
    // bearer, and jwt-gate reads `email` / `preferred_username` from it.
    conformIdTokenClaims: false,
    findAccount(_ctx, sub): Promise<Account | undefined> {
      const user = usersByName.get(sub);
      if (user === undefined) return Promise.resolve(undefined);
      return Promise.resolve({
        accountId: user.username,
        claims: () => ({
          sub: user.username,
          email: user.email,
          email_verified: user.emailVerified,
          preferred_username: user.username,
          name: user.name,
        }),
      });
    },
    features: {
      // We render our own login page (interaction-routes.ts).
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx: KoaContextWithOIDC, form: string): void {
          sendPage(ctx, renderLogoutPage(form));
        },
        postLogoutSuccessSource(ctx: KoaContextWithOIDC): void {
          sendPage(ctx, renderLoggedOutPage());
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: opts.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL_SECONDS,
      Interaction: 10 * 60,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    // PKCE (S256) for every client, not only public ones: all of ours are browser pages.
    pkce: { required: () => true },
    // Browser pages call discovery, /jwks, /token and /me cross-origin: allow exactly the origins
    // of the calling client's registered redirect URIs.
    clientBasedCORS(_ctx, origin, client): boolean {
      return corsOriginsByClient.get(client.clientId)?.has(origin) ?? false;
    },
    renderError(ctx, out): void {
      sendPage(ctx, renderErrorPage(out.error, out.error_description));
    },
  };
}

function toClientMetadata(client: ResolvedDevSsoOptions['clients'][number]): ClientMetadata {
  return {
    client_id: client.clientId,
    token_endpoint_auth_method: 'none',
    response_types: ['code'],
    grant_types: ['authorization_code'],
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    id_token_signed_response_alg: 'RS256',
  };
}

function sendPage(ctx: KoaContextWithOIDC, html: string): void {
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = html;
}
