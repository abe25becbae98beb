/**
 * The example API: an existing-style Express app that adopts jwt-gate the way a user would.
 * Public pages first (the Bots page), then `app.use(gate.authenticate)` — which answers the JWKS,
 * the auth config and health itself — then the protected API — ingestion-facing tables and lineage
 * (reading needs the scope `tables:read`, writing `tables:write`), the bot admin API — and finally
 * `gate.errorHandler` so auth failures answer with RFC 6750 headers and `{code, message}` JSON.
 */
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { JwtGate } from '../lib/index.js';
import { ApiError, requireScopes } from '../lib/index.js';
import { createCatalog } from './catalog.js';
import { createPipelinesRouter } from './pipelines.js';

export interface ExampleAppOptions {
  /** Optional extra routers mounted before authentication (e.g. the Settings → Bots page). */
  publicRouters?: RequestHandler[];
}

export function createApp(gate: JwtGate, options: ExampleAppOptions = {}): Express {
  const app = express();
  const catalog = createCatalog();
  app.disable('x-powered-by');
  app.use(helmet());

  // Public pages first (the Bots page); `gate.authenticate` answers the JWKS, the auth config and
  // health itself and requires a token for everything after it.
  for (const router of options.publicRouters ?? []) app.use(router);
  app.use(gate.authenticate);
  app.use(gate.botsRouter);
  app.use(gate.personalTokensRouter);
  app.use(createPipelinesRouter(gate));

  // Least privilege (RFC 6750 §3.1): a token without the scope gets 403 insufficient_scope. People
  // signing in get the SSO's defaultScopes; bots what their token was minted with.
  const realm = { realm: gate.config.verificationConfiguration.realm };
  const canRead = requireScopes(['tables:read'], realm);
  const canWrite = requireScopes(['tables:write'], realm);

  const api = express.Router({ caseSensitive: true, strict: true });
  api.use(express.json({ limit: '256kb' }));
  api.get('/users/loggedInUser', (req, res) => {
    const user = req.user!;
    res.json({
      name: user.name,
      email: user.email,
      isAdmin: user.isAdmin,
      isBot: user.isBot,
      tokenType: user.tokenType,
      issuer: user.issuer,
      subject: user.subject,
      source: user.source,
      scopes: user.scopes,
      expiresAt: user.expiresAt,
    });
  });
  api.get('/tables', canRead, (_req, res) => {
    res.json({ data: catalog.listTables(), paging: { total: catalog.listTables().length } });
  });
  api.post('/tables', canWrite, (req, res, next) => {
    try {
      res.status(201).json(catalog.putTable(req.body, req.user!.name));
    } catch (err) {
      next(err);
    }
  });
  api.get('/lineage', canRead, (_req, res) => {
    res.json({ data: catalog.listLineage() });
  });
  api.post('/lineage', canWrite, (req, res, next) => {
    try {
      res.status(201).json(catalog.addLineage(req.body, req.user!.name));
    } catch (err) {
      next(err);
    }
  });
  app.use('/api/v1', api);

  app.use((_req, _res, next) => {
    next(new ApiError(404, 'ERR_NOT_FOUND', 'No such resource.'));
  });
  app.use(gate.errorHandler);
  return app;
}
