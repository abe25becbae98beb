import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { BotService } from '../../bots/bot-service.js';
import { ApiError, badRequest } from '../../errors.js';
import { isPlainObject } from '../../config/apply-defaults.js';
import { requireAdmin } from '../middleware/guards.js';
import { createErrorHandler } from '../middleware/error-handler.js';
import { methodNotAllowed, securityHeaders } from '../router-helpers.js';

/** Largest JSON body the bot API reads. */
const BODY_LIMIT = '16kb';

export interface BotsRouterOptions {
  /** `WWW-Authenticate` realm of the 401/403 answers. Default `jwt-gate`. */
  realm?: string;
}

/**
 * The bot API (docs/bots.md), admins only — a person listed in `adminPrincipals`, never a bot token,
 * whatever its name. Mount it after `gate.authenticate`; without it every route answers 401.
 * Every route guards itself, so the router can be mounted at the root next to the app's routes.
 *
 * - `GET /api/v1/bots`, `POST /api/v1/bots` `{name, displayName?, description?, allowedScopes?}`
 * - `GET|DELETE /api/v1/bots/{name}` (deleting revokes the bot's token),
 *   `PATCH /api/v1/bots/{name}` `{"allowedScopes": [...]}`
 * - `PUT /api/v1/bots/{name}/token` `{"JWTTokenExpiry": "7", "scopes"?: [...]}` → the token, shown this once
 * - `GET /api/v1/bots/{name}/token` (metadata only), `DELETE /api/v1/bots/{name}/token` (revoke)
 * - the reference's shapes: `PUT /api/v1/users/generateToken/{name}`,
 *   `PUT /api/v1/users/revokeToken` `{"id": "<bot name>"}`, `GET /api/v1/users/token/{name}`
 */
export function createBotsRouter(bots: BotService, options: BotsRouterOptions = {}): Router {
  const guard: RequestHandler[] = [securityHeaders, noStore, requireAdmin(options.realm)];
  const json = jsonBody();
  // The full identity, so two people whose names share the part before `@` stay apart in the log.
  const actor = (req: Request): string => {
    const user = req.user!;
    return user.email !== null
      ? `${user.name} <${user.email}>`
      : `${user.name} (${user.issuer} ${user.subject})`;
  };
  const name = (req: Request): string => String(req.params.name);

  const generate = route(async (req, res) => {
    const body = bodyOf(req);
    res.json(await bots.generateToken(name(req), body.JWTTokenExpiry, actor(req), body.scopes));
  });
  const tokenMetadata = route(async (req, res) => {
    res.json(await bots.getTokenMetadata(name(req)));
  });

  const router = express.Router({ caseSensitive: true, strict: true });
  router
    .route('/api/v1/bots')
    .get(
      guard,
      route(async (_req, res) => {
        const data = await bots.listBots();
        res.json({ data, paging: { total: data.length } });
      }),
    )
    .post(
      guard,
      json,
      route(async (req, res) => {
        const body = bodyOf(req);
        const bot = await bots.createBot(
          {
            name: body.name as string,
            displayName: body.displayName as string,
            description: body.description as string,
            allowedScopes: body.allowedScopes as string[],
          },
          actor(req),
        );
        res.status(201).location(`${req.baseUrl}/api/v1/bots/${bot.name}`).json(bot);
      }),
    )
    .all(guard, methodNotAllowed('GET, HEAD, POST'));
  router
    .route('/api/v1/bots/:name')
    .get(
      guard,
      route(async (req, res) => {
        res.json(await bots.getBot(name(req)));
      }),
    )
    .patch(
      guard,
      json,
      route(async (req, res) => {
        const body = bodyOf(req);
        const other = Object.keys(body).filter((key) => key !== 'allowedScopes');
        if (!('allowedScopes' in body) || other.length > 0) {
          throw badRequest(
            `Send {"allowedScopes": [...]}: only a bot's allowed scopes can be changed${other.length > 0 ? ` (not ${other.join(', ')})` : ''}.`,
          );
        }
        res.json(await bots.setAllowedScopes(name(req), body.allowedScopes, actor(req)));
      }),
    )
    .delete(
      guard,
      route(async (req, res) => {
        res.json(await bots.deleteBot(name(req), actor(req)));
      }),
    )
    .all(guard, methodNotAllowed('GET, HEAD, PATCH, DELETE'));
  router
    .route('/api/v1/bots/:name/token')
    .put(guard, json, generate)
    .get(guard, tokenMetadata)
    .delete(
      guard,
      route(async (req, res) => {
        res.json(await bots.revokeToken(name(req), actor(req)));
      }),
    )
    .all(guard, methodNotAllowed('GET, HEAD, PUT, DELETE'));

  router
    .route('/api/v1/users/generateToken/:name')
    .put(guard, json, generate)
    .all(guard, methodNotAllowed('PUT'));
  router
    .route('/api/v1/users/revokeToken')
    .put(
      guard,
      json,
      route(async (req, res) => {
        const id = bodyOf(req).id;
        if (typeof id !== 'string') throw badRequest('Send {"id": "<bot name>"}.');
        res.json(await bots.revokeToken(id, actor(req)));
      }),
    )
    .all(guard, methodNotAllowed('PUT'));
  router
    .route('/api/v1/users/token/:name')
    .get(guard, tokenMetadata)
    .all(guard, methodNotAllowed('GET, HEAD'));
  // The bot API answers in JSON even in an app that forgot `gate.errorHandler`.
  router.use(createErrorHandler());
  return router;
}

/** Bot API answers name tokens and admin data: never stored by a cache. */
const noStore: RequestHandler = function noStore(_req, res, next) {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** An async handler whose rejection reaches `next` (Express 4 does not do this by itself). */
function route(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return function botsRoute(req, res, next) {
    handler(req, res).catch(next);
  };
}

/** `express.json`, with its failures turned into our 400/413/415 `ApiError`s. */
function jsonBody(): RequestHandler {
  const parse = express.json({ limit: BODY_LIMIT });
  return function parseBotsJson(req, res, next) {
    parse(req, res, (err?: unknown) => {
      next(err === undefined ? undefined : bodyError(err));
    });
  };
}

function bodyError(err: unknown): unknown {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') {
    return new ApiError(413, 'ERR_BAD_REQUEST', `The request body is larger than ${BODY_LIMIT}.`);
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ApiError(415, 'ERR_BAD_REQUEST', 'Send the request body as UTF-8 JSON.');
  }
  if (type === 'entity.parse.failed') return badRequest('The request body is not valid JSON.');
  // An aborted or unreadable request: a client problem too, with a stable answer.
  return badRequest('The request body could not be read.');
}

/** The JSON object body (an absent body reads as `{}`). */
function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
  return body;
}
