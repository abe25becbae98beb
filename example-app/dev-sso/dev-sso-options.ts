import { ConfigError } from '../../lib/errors.js';

/** A person who can sign in to the development SSO. */
export interface DevUser {
  /** Login name; also the token's `sub` and `preferred_username`. */
  username: string;
  /** Plain text: this is a development fixture, never a real credential store. */
  password: string;
  email: string;
  /** Display name (`name` claim). */
  name: string;
  /** `email_verified` claim. Default `true`. */
  emailVerified?: boolean;
}

/** A public OIDC client (authorization code + PKCE, no secret), like a browser page. */
export interface DevSsoClient {
  clientId: string;
  /** Exact redirect URIs; the first is what `DevSso.login()` uses by default. */
  redirectUris: string[];
  /** Where RP-initiated logout may return to. Default none. */
  postLogoutRedirectUris?: string[];
}

/** Options of `startDevSso()`. */
export interface DevSsoOptions {
  /** TCP port; `0` picks a free one. Default `9090`. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Issuer identifier (`iss` of its tokens). Default `http://localhost:<port>` (the bound port). */
  issuer?: string;
  /**
   * Extra clients. One whose `clientId` is `jwt-gate-bots-page` adds its URIs to the default
   * client's; the others are added as further public clients.
   */
  clients?: DevSsoClient[];
  /** Who can sign in. Default `DEFAULT_DEV_USERS` (admin/admin, alice/alice). */
  users?: DevUser[];
  /** Lifetime of access tokens, in seconds. Default `3600`. ID tokens live one hour. */
  accessTokenTtlSeconds?: number;
}

/** The client id of the Settings → Bots page, the default (and first) client. */
export const DEV_SSO_CLIENT_ID = 'jwt-gate-bots-page';

/** The demo admin and the demo non-admin. */
export const DEFAULT_DEV_USERS: readonly DevUser[] = Object.freeze([
  {
    username: 'admin',
    password: 'admin',
    email: 'admin@example.com',
    name: 'Demo Admin',
    emailVerified: true,
  },
  {
    username: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    name: 'Alice Example',
    emailVerified: true,
  },
]);

/** The Settings → Bots page of the example app (served on port 8585). */
export const DEFAULT_DEV_CLIENT: Readonly<DevSsoClient> = Object.freeze({
  clientId: DEV_SSO_CLIENT_ID,
  redirectUris: ['http://localhost:8585/settings/bots/callback'],
  postLogoutRedirectUris: ['http://localhost:8585/settings/bots'],
});

export interface ResolvedDevSsoOptions {
  port: number;
  host: string;
  issuer: string | undefined;
  clients: Required<DevSsoClient>[];
  users: Required<DevUser>[];
  accessTokenTtlSeconds: number;
}

/** Refuses to run in production: the dev SSO accepts demo passwords and keeps keys in memory. */
export function assertNotProduction(): void {
  if (process.env.NODE_ENV === 'production') {
    throw new ConfigError(
      'The development SSO is for development only and refuses to start when NODE_ENV=production. ' +
        'Configure a real SSO instead: set authenticationConfiguration.authority, publicKeyUrls and clientId ' +
        '(AUTHENTICATION_AUTHORITY, AUTHENTICATION_PUBLIC_KEYS, AUTHENTICATION_CLIENT_ID).',
    );
  }
}

/** Validates and defaults `startDevSso()` options; throws `ConfigError` naming the option. */
export function resolveDevSsoOptions(opts: DevSsoOptions): ResolvedDevSsoOptions {
  const port = opts.port ?? 9090;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`dev SSO option "port" must be an integer from 0 to 65535 (got ${String(port)}).`);
  }
  const accessTokenTtlSeconds = opts.accessTokenTtlSeconds ?? 3600;
  if (!Number.isInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds <= 0) {
    throw new ConfigError(
      'dev SSO option "accessTokenTtlSeconds" must be a positive whole number of seconds.',
    );
  }
  if (opts.issuer !== undefined) checkIssuer(opts.issuer);
  return {
    port,
    host: opts.host ?? '127.0.0.1',
    issuer: opts.issuer,
    clients: mergeClients(opts.clients ?? []),
    users: resolveUsers(opts.users ?? DEFAULT_DEV_USERS),
    accessTokenTtlSeconds,
  };
}

function checkIssuer(issuer: string): void {
  const url = URL.parse(issuer);
  if (
    url === null ||
    !/^https?:$/.test(url.protocol) ||
    url.search !== '' ||
    url.hash !== '' ||
    issuer.endsWith('?')
  ) {
    throw new ConfigError(
      `dev SSO option "issuer" must be an http(s) URL without query or fragment, e.g. http://localhost:9090 (got "${issuer}").`,
    );
  }
}

function resolveUsers(users: readonly DevUser[]): Required<DevUser>[] {
  if (users.length === 0) throw new ConfigError('dev SSO option "users" must list at least one user.');
  const seen = new Set<string>();
  return users.map((user, i) => {
    for (const field of ['username', 'password', 'email', 'name'] as const) {
      if (typeof user[field] !== 'string' || user[field] === '') {
        throw new ConfigError(`dev SSO option "users[${i}].${field}" must be a non-empty string.`);
      }
    }
    if (seen.has(user.username))
      throw new ConfigError(`dev SSO option "users" lists "${user.username}" twice.`);
    seen.add(user.username);
    return { ...user, emailVerified: user.emailVerified ?? true };
  });
}

function mergeClients(extra: readonly DevSsoClient[]): Required<DevSsoClient>[] {
  const byId = new Map<string, Required<DevSsoClient>>();
  for (const client of [DEFAULT_DEV_CLIENT, ...extra]) {
    if (typeof client.clientId !== 'string' || client.clientId === '') {
      throw new ConfigError('dev SSO option "clients[].clientId" must be a non-empty string.');
    }
    for (const uri of [...client.redirectUris, ...(client.postLogoutRedirectUris ?? [])]) {
      if (URL.parse(uri) === null) {
        throw new ConfigError(`dev SSO client "${client.clientId}" has an invalid redirect URI "${uri}".`);
      }
    }
    const known = byId.get(client.clientId);
    byId.set(client.clientId, {
      clientId: client.clientId,
      redirectUris: unique([...(known?.redirectUris ?? []), ...client.redirectUris]),
      postLogoutRedirectUris: unique([
        ...(known?.postLogoutRedirectUris ?? []),
        ...(client.postLogoutRedirectUris ?? []),
      ]),
    });
  }
  for (const client of byId.values()) {
    if (client.redirectUris.length === 0) {
      throw new ConfigError(
        `dev SSO client "${client.clientId}" needs at least one redirect URI ("redirectUris").`,
      );
    }
  }
  return [...byId.values()];
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
