import express, { type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import { methodNotAllowed } from '../router-helpers.js';
import {
  resolveBotsPageOptions,
  type BotsPageOptions,
  type ResolvedBotsPageOptions,
} from './bots-page-options.js';
import { loadPageAssets, type PageAsset } from './page-assets.js';

/**
 * The Settings → Bots page: an admin signs in through the configured SSO (authorization code +
 * PKCE, done by `oidc-client-ts` in the browser), lists bots, creates and deletes them, generates
 * a token (shown once) and revokes it. The page calls the bot API with the SSO ID token.
 *
 * Optional: mount it before `gate.authenticate` (it is public; the API it calls is not).
 * Everything is read and validated here, so a request only writes a prepared body.
 *
 * @example
 * const auth = gate.config.authenticationConfiguration;
 * app.use(createBotsPageRouter({ authority: auth.authority, clientId: auth.clientId, callbackUrl: auth.callbackUrl }));
 * app.use(gate.authenticate);
 * app.use(gate.botsRouter);
 *
 * @throws ConfigError naming the option when one is missing or malformed, or when the page's
 *   files (or the `oidc-client-ts` bundle) cannot be read.
 */
export function createBotsPageRouter(options: BotsPageOptions): Router {
  const resolved = resolveBotsPageOptions(options);
  const assets = loadPageAssets(resolved);
  const pageHeaders = createPageHeaders(resolved);

  const router = express.Router({ caseSensitive: true, strict: true });
  for (const [subPath, asset] of assets) {
    const route = resolved.basePath + subPath;
    router.get(route, pageHeaders, serveAsset(asset));
    router.all(route, pageHeaders, methodNotAllowed('GET, HEAD'));
  }
  return router;
}

/**
 * helmet with a page-specific Content-Security-Policy: only our own scripts and styles (no inline
 * code at all), API calls to ourselves and to the SSO, never framed. Signing in is a top-level
 * navigation to the SSO, which CSP does not restrict.
 */
function createPageHeaders(options: ResolvedBotsPageOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        connectSrc: ["'self'", ...options.connectSources],
        imgSrc: ["'self'", 'data:'],
        frameAncestors: ["'none'"],
        formAction: ["'self'", options.authorityOrigin],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
  });
}

function serveAsset(asset: PageAsset): RequestHandler {
  return function serveBotsPageAsset(_req, res) {
    res.setHeader('Cache-Control', asset.cacheControl);
    res.type(asset.type);
    // Express adds an ETag and answers a matching If-None-Match with 304.
    res.send(asset.body);
  };
}
