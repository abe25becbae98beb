import express, { type Request, type RequestHandler, type Router } from 'express';
import type { BotService } from '../../bots/bot-service.js';
import { badRequest } from '../../errors.js';
import { requireAdmin } from '../middleware/guards.js';
import { createErrorHandler } from '../middleware/error-handler.js';
import {
  actorOf,
  bodyOf,
  jsonBody,
  methodNotAllowed,
  noStore,
  route,
  securityHeaders,
} from '../router-helpers.js';

/** What `PATCH /api/v1/bots/{name}` may change. */
const PATCHABLE: readonly string[] = ['allowedScopes', 'requireDpop'];

export interface BotsRouterOptions {
  /** `WWW-Authenticate` realm of the 401/403 answers. Default `jwt-gate`. */
  realm?: string;
}

/**
 * The bot API (docs/bots.md), admins only — a person listed in `adminPrincipals`, never a bot token,
 * whatever its name. Mount it after `gate.authenticate`; without it every route answers 401.
 * Every route guards itself, so the router can be mounted at the root next to the app's routes.
 *
 * - `GET /api/v1/bots`, `POST /api/v1/bots` `{name, displayName?, description?, allowedScopes?, requireDpop?}`
 * - `GET|DELETE /api/v1/bots/{name}` (deleting revokes the bot's token),
 *   `PATCH /api/v1/bots/{name}` `{"allowedScopes"?: [...], "requireDpop"?: true}` (at least one)
 * - `PUT /api/v1/bots/{name}/token` `{"JWTTokenExpiry": "7", "scopes"?: [...], "dpopJkt"?: "<thumbprint>"}`
 *   → the token, shown this once
 * - `GET /api/v1/bots/{name}/token` (metadata only), `DELETE /api/v1/bots/{name}/token` (revoke)
 * - the reference's shapes: `PUT /api/v1/users/generateToken/{name}`,
 *   `PUT /api/v1/users/revokeToken` `{"id": "<bot name>"}`, `GET /api/v1/users/token/{name}`
 */
export function createBotsRouter(bots: BotService, options: BotsRouterOptions = {}): Router {
  const guard: RequestHandler[] = [securityHeaders, noStore, requireAdmin(options.realm)];
  const json = jsonBody();
  const actor = actorOf;
  const name = (req: Request): string => String(req.params.name);

  const generate = route(async (req, res) => {
    const body = bodyOf(req);
    res.json(await bots.generateToken(name(req), body.JWTTokenExpiry, actor(req), body.scopes, body.dpopJkt));
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
            requireDpop: body.requireDpop as boolean,
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
        const other = Object.keys(body).filter((key) => !PATCHABLE.includes(key));
        if (!PATCHABLE.some((key) => key in body) || other.length > 0) {
          throw badRequest(
            `Send {"allowedScopes"?: [...], "requireDpop"?: true|false}: only a bot's allowed scopes and DPoP requirement can be changed${other.length > 0 ? ` (not ${other.join(', ')})` : ''}.`,
          );
        }
        // Checked before anything changes, so a bad value leaves the scopes as they were too.
        if ('requireDpop' in body && typeof body.requireDpop !== 'boolean') {
          throw badRequest('requireDpop must be true or false.');
        }
        let bot =
          'allowedScopes' in body
            ? await bots.setAllowedScopes(name(req), body.allowedScopes, actor(req))
            : null;
        if ('requireDpop' in body) bot = await bots.setRequireDpop(name(req), body.requireDpop, actor(req));
        res.json(bot);
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
