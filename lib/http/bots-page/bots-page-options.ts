import { ConfigError } from '../../errors.js';

/** Options of `createBotsPageRouter()`; usually taken from `authenticationConfiguration`. */
export interface BotsPageOptions {
  /**
   * Where the page lives, relative to where the router is mounted. Default `/settings/bots`.
   * The router serves `<basePath>`, `<basePath>/callback`, `<basePath>/config.json` and the
   * page's scripts, styles and icon under `<basePath>/`.
   */
  basePath?: string;
  /** The SSO's issuer URL (`authenticationConfiguration.authority`); discovery is read from it. */
  authority: string;
  /** The page's OAuth client id at the SSO (`authenticationConfiguration.clientId`). */
  clientId: string;
  /**
   * The absolute redirect URI registered at the SSO (`authenticationConfiguration.callbackUrl`),
   * e.g. `http://localhost:8585/settings/bots/callback`. Its path must end with `<basePath>/callback`
   * or `<basePath>`; the page without `/callback` is the sign-out return address.
   */
  callbackUrl: string;
  /** Prefix of the bot API the page calls: a path or an absolute URL. Default `''` (same origin, app root). */
  apiBase?: string;
  /** OAuth scopes asked for. Default `openid profile email` (the ID token carries email and name). */
  scope?: string;
  /**
   * Further origins the page may call besides its own and the authority's (`connect-src`), e.g. an
   * SSO whose token endpoint is on another host. Google's (`https://oauth2.googleapis.com`) is
   * added by itself when `authority` is `https://accounts.google.com`.
   */
  extraConnectSources?: string[];
  /** Directory of the page's files. Default: the `static` folder shipped with jwt-gate. */
  staticDir?: string;
}

/** Options after validation and defaults. */
export interface ResolvedBotsPageOptions {
  basePath: string;
  authority: string;
  clientId: string;
  callbackUrl: string;
  /** The page's absolute URL: `callbackUrl` without its `/callback` suffix. */
  pageUrl: string;
  apiBase: string;
  scope: string;
  /** Origins for `connect-src` besides `'self'`. */
  connectSources: string[];
  /** The authority's origin, for `form-action`. */
  authorityOrigin: string;
  staticDir: string | undefined;
}

const SAFE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const GOOGLE_AUTHORITY = 'https://accounts.google.com';
const GOOGLE_TOKEN_ORIGIN = 'https://oauth2.googleapis.com';

/** Validates the options and fills the defaults; throws `ConfigError` naming the option. */
export function resolveBotsPageOptions(options: BotsPageOptions): ResolvedBotsPageOptions {
  const basePath = options.basePath ?? '/settings/bots';
  if (!SAFE_PATH.test(basePath) || basePath.split('/').some((s) => s === '.' || s === '..')) {
    throw new ConfigError(
      `Bots page option "basePath" must be a path like "/settings/bots": a leading "/", no trailing "/", only letters, digits and . _ ~ - (got "${basePath}").`,
    );
  }

  const authority = httpUrl(
    options.authority,
    'authority',
    'authenticationConfiguration.authority (AUTHENTICATION_AUTHORITY)',
  );
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') {
    throw new ConfigError(
      'Bots page option "clientId" must name the page\'s OAuth client at the SSO: set authenticationConfiguration.clientId (AUTHENTICATION_CLIENT_ID).',
    );
  }
  const callback = httpUrl(
    options.callbackUrl,
    'callbackUrl',
    'authenticationConfiguration.callbackUrl (AUTHENTICATION_CALLBACK_URL)',
  );
  const pagePath = callback.pathname.replace(/\/callback$/, '');
  if (!pagePath.endsWith(basePath)) {
    throw new ConfigError(
      `Bots page option "callbackUrl" (authenticationConfiguration.callbackUrl, AUTHENTICATION_CALLBACK_URL) must point at the page: its path should end with "${basePath}/callback" (got "${callback.pathname}").`,
    );
  }

  const apiBase = (options.apiBase ?? '').replace(/\/+$/, '');
  const connectSources = [authority.origin];
  if (/^https?:\/\//.test(apiBase)) connectSources.push(httpUrl(apiBase, 'apiBase', 'apiBase').origin);
  if (authority.origin === GOOGLE_AUTHORITY) connectSources.push(GOOGLE_TOKEN_ORIGIN);
  for (const [i, source] of (options.extraConnectSources ?? []).entries()) {
    connectSources.push(httpUrl(source, `extraConnectSources[${i}]`, 'extraConnectSources').origin);
  }

  return {
    basePath,
    authority: options.authority,
    clientId: options.clientId,
    callbackUrl: callback.href,
    pageUrl: new URL(pagePath, callback).href,
    apiBase,
    scope: options.scope ?? 'openid profile email',
    connectSources: [...new Set(connectSources)],
    authorityOrigin: authority.origin,
    staticDir: options.staticDir,
  };
}

function httpUrl(value: unknown, option: string, source: string): URL {
  const url = typeof value === 'string' ? URL.parse(value) : null;
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError(
      `Bots page option "${option}" must be an absolute http(s) URL; set ${source} (got "${String(value)}").`,
    );
  }
  return url;
}
