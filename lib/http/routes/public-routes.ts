import { createHash } from 'node:crypto';
import express, { type RequestHandler, type Router } from 'express';
import { methodNotAllowed, securityHeaders } from '../router-helpers.js';

/** A public, read-only route: exact paths (relative to the mount point) and their GET handler. */
export interface PublicRoute {
  readonly paths: readonly string[];
  /**
   * The paths are from the host root, wherever the routers are mounted (RFC 9728's well-known
   * paths): never prefixed with `basePath`, and served only by a router mounted at the root.
   */
  readonly fromRoot?: boolean;
  readonly handle: RequestHandler;
}

/**
 * The GET/HEAD handlers of public routes by exact path (`basePath` + route path, or the route
 * path alone for `fromRoot` routes), each sending helmet's headers first.
 */
export function publicRouteHandlers(
  routes: readonly PublicRoute[],
  basePath = '',
): Map<string, RequestHandler> {
  const handlers = new Map<string, RequestHandler>();
  for (const route of routes) {
    for (const path of route.paths) {
      handlers.set(
        (route.fromRoot === true ? '' : basePath) + path,
        function servePublicRoute(req, res, next) {
          securityHeaders(req, res, (err?: unknown) => (err ? next(err) : route.handle(req, res, next)));
        },
      );
    }
  }
  return handlers;
}

/**
 * Serves public routes from one middleware: an exact, case-sensitive lookup of `req.path` (no
 * router layers to walk on every protected request) — `fromRoot` routes only where `req.path` is
 * the full path (`req.baseUrl` is empty: mounted at the root) — GET/HEAD with helmet's headers,
 * 405 for other methods, anything else passed on untouched.
 */
export function servePublicRoutes(routes: readonly PublicRoute[]): RequestHandler {
  const handlers = publicRouteHandlers(routes.filter((route) => route.fromRoot !== true));
  const fromRoot = publicRouteHandlers(routes.filter((route) => route.fromRoot === true));
  const refuse = methodNotAllowed('GET, HEAD');
  return function jwtGatePublicRoutes(req, res, next) {
    const handle = handlers.get(req.path) ?? (req.baseUrl === '' ? fromRoot.get(req.path) : undefined);
    if (handle === undefined) next();
    else if (req.method === 'GET' || req.method === 'HEAD') handle(req, res, next);
    else securityHeaders(req, res, (err?: unknown) => (err ? next(err) : refuse(req, res, next)));
  };
}

/** One public route as a mountable Router (for apps that want only that route). */
export function publicRouter(route: PublicRoute): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(servePublicRoutes([route]));
  return router;
}

/**
 * A handler for a JSON document fixed at start-up (the JWKS, the RFC 9728 metadata): the body and
 * its `ETag` are computed once; a request with the matching `If-None-Match` gets a 304.
 */
export function serveStaticJson(name: string, document: unknown, maxAgeSeconds: number): RequestHandler {
  const body = JSON.stringify(document);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const cacheControl = `public, max-age=${maxAgeSeconds}`;
  const handler: RequestHandler = (req, res) => {
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', etag);
    res.type('application/json');
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.send(body);
  };
  // Named after its document, as the handlers of stack traces and profiles are.
  Object.defineProperty(handler, 'name', { value: name });
  return handler;
}
