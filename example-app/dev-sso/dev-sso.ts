/**
 * DEVELOPMENT ONLY. A real OpenID Connect provider (`oidc-provider` 9) with demo users, for the
 * example app's Settings → Bots page and for tests that need genuine SSO ID tokens. It keeps its
 * signing key, sessions and codes in memory and checks plain-text demo passwords: it refuses to
 * start when `NODE_ENV=production`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import Provider from 'oidc-provider';

import { assertNotProduction, resolveDevSsoOptions } from './dev-sso-options.js';
import type { DevSsoOptions, DevUser } from './dev-sso-options.js';
import { loginWithAuthorizationCode } from './headless-login.js';
import type { HeadlessLoginResult } from './headless-login.js';
import { createInteractionRouter } from './interaction-routes.js';
import { buildProviderConfiguration, generateSigningJwk } from './provider-config.js';

/** A running development SSO. */
export interface DevSso {
  /** The issuer identifier: the `iss` of its tokens and the `authority` to configure in jwt-gate. */
  issuer: string;
  /** `<issuer>/jwks`: the `publicKeyUrls` entry to configure in jwt-gate. */
  jwksUri: string;
  /** The port it listens on (useful with `port: 0`). */
  port: number;
  /** Who can sign in. */
  users: DevUser[];
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
  /**
   * Test helper: a real authorization-code + PKCE login over HTTP (no browser).
   *
   * @param opts.clientId default `jwt-gate-bots-page`
   * @param opts.redirectUri default the client's first redirect URI
   * @param opts.nonce default a random value (checked in the ID token)
   * @returns the ID token (its `aud` is the client id) and the access token.
   * @throws Error when the username/password pair is refused.
   */
  login(
    username: string,
    password: string,
    opts?: { clientId?: string; redirectUri?: string; nonce?: string },
  ): Promise<HeadlessLoginResult>;
}

/**
 * Starts the development SSO on its own port.
 *
 * @example
 * const sso = await startDevSso({ port: 0 });
 * const { idToken } = await sso.login('admin', 'admin'); // aud = 'jwt-gate-bots-page'
 * await sso.close();
 *
 * @throws ConfigError when `NODE_ENV=production` or an option is invalid.
 */
export async function startDevSso(opts: DevSsoOptions = {}): Promise<DevSso> {
  assertNotProduction();
  const resolved = resolveDevSsoOptions(opts);
  const signingJwk = await generateSigningJwk();

  // Listen first: with port 0 the issuer (http://localhost:<port>) is only known once bound.
  const server = createServer();
  const port = await listen(server, resolved.port, resolved.host);
  const issuer = resolved.issuer ?? `http://localhost:${port}`;

  const provider = new Provider(issuer, buildProviderConfiguration(resolved, signingJwk));
  const app = express();
  app.disable('x-powered-by');
  app.use(createInteractionRouter(provider, resolved.users));
  app.use(provider.callback());
  server.on('request', app);

  const baseUrl = `http://${connectHost(resolved.host)}:${port}`;
  const [defaultClient] = resolved.clients;
  console.warn(
    `jwt-gate dev SSO (DEVELOPMENT ONLY, not for production) at ${issuer}` +
      ` — users: ${resolved.users.map((user) => user.username).join(', ')}`,
  );

  return {
    issuer,
    jwksUri: `${issuer.replace(/\/$/, '')}/jwks`,
    port,
    users: resolved.users.map((user) => ({ ...user })),
    close: () => closeServer(server),
    login(username, password, loginOpts = {}) {
      const client = resolved.clients.find(
        (c) => c.clientId === (loginOpts.clientId ?? defaultClient?.clientId),
      );
      const redirectUri = loginOpts.redirectUri ?? client?.redirectUris[0];
      if (client === undefined || redirectUri === undefined) {
        return Promise.reject(new Error(`dev SSO login: unknown client "${String(loginOpts.clientId)}"`));
      }
      return loginWithAuthorizationCode({
        baseUrl,
        issuer,
        clientId: client.clientId,
        redirectUri,
        username,
        password,
        ...(loginOpts.nonce === undefined ? {} : { nonce: loginOpts.nonce }),
      });
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`dev SSO could not listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err === undefined ? resolve() : reject(err)));
    // fetch() keeps connections alive; without this, close() would wait for them to time out.
    server.closeAllConnections();
  });
}

/** An address a local client can reach the server on. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
