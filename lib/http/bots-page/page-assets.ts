import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import locations from './asset-locations.cjs';
import type { ResolvedBotsPageOptions } from './bots-page-options.js';

/** One file the page router serves, read into memory once. */
export interface PageAsset {
  body: Buffer | string;
  /** `Content-Type`. */
  type: string;
  cacheControl: string;
}

/** Our own files change with the package version but keep their names: revalidate (ETag) each time. */
const REVALIDATE = 'no-cache';
/** The vendored library's URL carries its version, so it may be cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Everything the page needs, keyed by path below `basePath`: the HTML (at `''` and `/callback`),
 * `/config.json`, the page's scripts, styles and icon, and the `oidc-client-ts` browser bundle from
 * node_modules at a versioned path. Read at router creation; a missing file is a start-up error.
 */
export function loadPageAssets(options: ResolvedBotsPageOptions): Map<string, PageAsset> {
  const staticDir = options.staticDir ?? locations.staticDir;
  const oidc = readOidcBundle();
  const assets = new Map<string, PageAsset>();

  const html = readRequired(path.join(staticDir, 'index.html'), 'staticDir')
    .replaceAll('%BASE_PATH%', options.basePath)
    .replaceAll('%OIDC_BUNDLE%', oidc.fileName);
  const page: PageAsset = { body: html, type: 'text/html; charset=utf-8', cacheControl: REVALIDATE };
  assets.set('', page);
  assets.set('/callback', page);

  assets.set('/config.json', {
    body: JSON.stringify({
      authority: options.authority,
      clientId: options.clientId,
      redirectUri: options.callbackUrl,
      pageUrl: options.pageUrl,
      scope: options.scope,
      apiBase: options.apiBase,
    }),
    type: 'application/json; charset=utf-8',
    cacheControl: REVALIDATE,
  });

  for (const name of readdirSync(staticDir).sort()) {
    const type = TYPES[path.extname(name)];
    if (type === undefined) continue;
    assets.set(`/${name}`, {
      body: readFileSync(path.join(staticDir, name)),
      type,
      cacheControl: REVALIDATE,
    });
  }
  assets.set(`/vendor/${oidc.fileName}`, { body: oidc.body, type: TYPES['.js']!, cacheControl: IMMUTABLE });
  return assets;
}

/** The UMD browser build of oidc-client-ts (global `oidc`), without its source-map comment. */
function readOidcBundle(): { fileName: string; body: string } {
  let packageJson: string;
  try {
    packageJson = locations.resolveDependency('oidc-client-ts/package.json');
  } catch (err) {
    // An optional peer dependency: only apps that serve the page install it.
    throw new ConfigError(
      'The Settings → Bots page signs admins in with oidc-client-ts, an optional peer dependency of jwt-gate: run `npm install oidc-client-ts`.',
      { cause: err },
    );
  }
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const file = path.join(path.dirname(packageJson), 'dist', 'browser', 'oidc-client-ts.min.js');
  const body = readRequired(file, 'oidc-client-ts').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return { fileName: `oidc-client-ts-${version}.min.js`, body };
}

function readRequired(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Bots page: cannot read ${file} (${what}); is jwt-gate installed completely?`, {
      cause: err,
    });
  }
}
