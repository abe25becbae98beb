/**
 * Starts the example app the way `npm start` does: config from YAML + environment, dev keys
 * generated on first start (never in production), the development SSO (never in production),
 * the SQLite bot store, and the API. Tests call `startExample()` with port 0 and their own options.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { ConfigError, createJwtGate, type JwtGate, type ResolvedConfig } from '../lib/index.js';
import { loadConfig } from '../lib/config/index.js';
import { generateKeyFiles } from '../lib/keys/index.js';
import { createBotsPageRouter } from '../lib/http/bots-page/index.js';
import { createApp } from './app.js';
import { listen } from './listen.js';

export const DEFAULT_CONFIG_PATH = path.join(import.meta.dirname, 'conf', 'jwt-gate.yaml');

/** The authority of the bundled development SSO, as conf/jwt-gate.yaml names it by default. */
export const DEV_SSO_AUTHORITY = 'http://localhost:9090';

export interface StartOptions {
  /** YAML file. Default env `JWT_GATE_CONFIG`, else example-app/conf/jwt-gate.yaml. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides `server.port` (0 = any free port). */
  port?: number;
  /**
   * Run the development SSO. Default: env `JWT_GATE_DEV_SSO` (`true`/`false`); unset, on when
   * `authority` is the bundled one (`DEV_SSO_AUTHORITY`) or empty and NODE_ENV is not production.
   * It never replaces a configured IdP: forcing it with another authority stops the start.
   */
  devSso?: boolean;
  /** Dev SSO port (0 = any). Default: the port of `authority`. */
  ssoPort?: number;
  /** Overrides `database.url`. */
  databaseUrl?: string;
  /** Public routers mounted before authentication; given the resolved config. Default: the Bots page. */
  publicRouters?: (config: ResolvedConfig) => RequestHandler[];
}

export interface RunningExample {
  url: string;
  port: number;
  gate: JwtGate;
  config: ResolvedConfig;
  /** The dev SSO's issuer, when it runs. */
  ssoIssuer: string | null;
  close(): Promise<void>;
}

export async function startExample(options: StartOptions = {}): Promise<RunningExample> {
  const env = options.env ?? process.env;
  const production = env.NODE_ENV === 'production';
  let config = loadConfig({ path: options.configPath ?? env.JWT_GATE_CONFIG ?? DEFAULT_CONFIG_PATH, env });
  if (options.databaseUrl !== undefined) config = { ...config, database: { url: options.databaseUrl } };

  await ensureDevKeys(config, production);

  let handler: http.RequestListener = (_req, res) => {
    res.writeHead(503, { 'Retry-After': '1' }).end();
  };
  const server = await listen(
    (req, res) => handler(req, res),
    options.port ?? config.server.port,
    config.server.host,
  );
  const { port: actualPort, url } = server;
  config = { ...config, server: { ...config.server, port: actualPort } };

  let closeSso: () => Promise<void> = () => Promise.resolve();
  let ssoIssuer: string | null = null;
  try {
    if (wantDevSso(options.devSso, env, config.authenticationConfiguration.authority)) {
      if (production) throw new ConfigError('The development SSO is refused when NODE_ENV=production.');
      const configured = config.authenticationConfiguration.authority;
      if (!isBundledAuthority(configured)) {
        throw new ConfigError(
          `The development SSO was asked for (JWT_GATE_DEV_SSO=true), but authenticationConfiguration.authority (AUTHENTICATION_AUTHORITY) is "${configured}": it never replaces a configured identity provider. Unset JWT_GATE_DEV_SSO, or set the authority to ${DEV_SSO_AUTHORITY}.`,
        );
      }
      // Loaded only in development: oidc-provider is a devDependency.
      const { startDevSso } = await import('./dev-sso/index.js');
      const auth = config.authenticationConfiguration;
      const callbackUrl = `${url}/settings/bots/callback`;
      const sso = await startDevSso({
        port: options.ssoPort ?? Number(new URL(auth.authority).port || 9090),
        clients: [
          {
            clientId: auth.clientId,
            redirectUris: [callbackUrl],
            postLogoutRedirectUris: [`${url}/settings/bots`],
          },
        ],
      });
      closeSso = () => sso.close();
      ssoIssuer = sso.issuer;
      // Only the bundled SSO's own JWKS entry is swapped for the running one; every other source stays.
      const bundledJwks = `${trimSlash(auth.authority || DEV_SSO_AUTHORITY)}/jwks`;
      const others = auth.publicKeyUrls.filter((u) => typeof u !== 'string' || trimSlash(u) !== bundledJwks);
      config = {
        ...config,
        authenticationConfiguration: {
          ...auth,
          authority: sso.issuer,
          callbackUrl,
          publicKeyUrls: [...others, sso.jwksUri],
        },
      };
    }

    const gate = await createJwtGate(config);
    const app = createApp(gate, { publicRouters: (options.publicRouters ?? defaultPublicRouters)(config) });
    handler = app;
    return {
      url,
      port: actualPort,
      gate,
      config,
      ssoIssuer,
      async close() {
        await server.close();
        await gate.close();
        await closeSso();
      },
    };
  } catch (err) {
    await server.close();
    await closeSso();
    throw err;
  }
}

/** First start in development: write keys where the config expects them (mode 0600). */
async function ensureDevKeys(config: ResolvedConfig, production: boolean): Promise<void> {
  const jwt = config.jwtTokenConfiguration;
  if (production || jwt.rsaprivateKey || !jwt.rsaprivateKeyFilePath) return; // production: loading fails with the fix
  const privatePath = path.resolve(config.baseDir, jwt.rsaprivateKeyFilePath);
  if (existsSync(privatePath) || path.basename(privatePath) !== 'private_key.der') return;
  const files = await generateKeyFiles(path.dirname(privatePath));
  console.log(
    `jwt-gate example: generated development keys in ${path.dirname(files.privateKeyDer)} (mode 0600)`,
  );
}

/** The Settings → Bots page at /settings/bots, when there is an SSO to sign in with. */
function defaultPublicRouters(config: ResolvedConfig): RequestHandler[] {
  const { provider, authority, clientId, callbackUrl } = config.authenticationConfiguration;
  return provider === 'no-auth' ? [] : [createBotsPageRouter({ authority, clientId, callbackUrl })];
}

/** Explicit option, then `JWT_GATE_DEV_SSO`, then: only for the bundled (or no) authority, never in production. */
function wantDevSso(option: boolean | undefined, env: NodeJS.ProcessEnv, authority: string): boolean {
  if (option !== undefined) return option;
  if (env.JWT_GATE_DEV_SSO === 'true') return true;
  if (env.JWT_GATE_DEV_SSO === 'false') return false;
  if (env.JWT_GATE_DEV_SSO !== undefined && env.JWT_GATE_DEV_SSO !== '') {
    throw new ConfigError(`JWT_GATE_DEV_SSO must be "true" or "false", got "${env.JWT_GATE_DEV_SSO}".`);
  }
  return env.NODE_ENV !== 'production' && isBundledAuthority(authority);
}

function isBundledAuthority(authority: string): boolean {
  return authority === '' || trimSlash(authority) === DEV_SSO_AUTHORITY;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
