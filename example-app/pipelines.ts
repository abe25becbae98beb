/**
 * The main app's ingestion-pipeline routes (admins only): they call the pipeline service (the
 * reference's Airflow APIs) the way the reference's server does, with a bot token taken from
 * `airflowConfiguration.authConfig.openmetadata.jwtToken` (env `OM_AUTH_JWT_TOKEN`).
 *
 * Demo mode: while that value is the reference's placeholder (and NODE_ENV is not production),
 * the app does the documented setup step itself, with a bot of its own (`pipeline-demo-bot`, so
 * the token an admin generated for `ingestion-bot` is left alone): it generates that bot a token at
 * the first pipeline call and keeps it in memory (it is shown nowhere). A kept token that is
 * revoked is NOT silently replaced: calls then fail with 502 until the server restarts or
 * OM_AUTH_JWT_TOKEN is set, so an admin's revocation means what it says.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { JwtGate } from '../lib/index.js';
import { ApiError } from '../lib/index.js';
import { PipelineServiceError } from '../lib/client/index.js';
import { createPipelineServiceClient, PLACEHOLDER_BOT_TOKEN } from '../lib/client/index.js';

/** The bot whose token OM_AUTH_JWT_TOKEN holds, as in the reference. */
export const PIPELINE_BOT = 'ingestion-bot';
/** The bot demo mode generates a token for (created when missing). */
export const DEMO_BOT = 'pipeline-demo-bot';
/** Base path of the routes, as in the reference. */
export const INGESTION_PIPELINES_PATH = '/api/v1/services/ingestionPipelines';

/** Demo tokens last a day; a kept token this close to its expiry is replaced, ms. */
const DEMO_EXPIRY = '1';
const RENEW_BEFORE_MS = 60_000;

export interface PipelinesRouterOptions {
  /**
   * Mint a token for `pipeline-demo-bot` while `OM_AUTH_JWT_TOKEN` is the placeholder.
   * Default: `NODE_ENV !== 'production'` (in production the placeholder stops the start).
   */
  demoToken?: boolean;
}

/**
 * `POST /api/v1/services/ingestionPipelines/deploy/:name` (body: the pipeline definition),
 * `POST …/trigger/:name` and `GET …/status/:name`, for admins. Mount after `gate.authenticate`.
 *
 * Without a token (the placeholder, outside demo mode) the app still starts — pipelines are an
 * optional integration — with a warning, and the routes answer 502 saying what to set.
 *
 * @throws ConfigError at creation for an unusable `apiEndpoint` or `authProvider`, naming the field.
 */
export function createPipelinesRouter(gate: JwtGate, options: PipelinesRouterOptions = {}): Router {
  const airflow = gate.config.airflowConfiguration;
  const token = airflow.authConfig.openmetadata.jwtToken.trim();
  const unset = token === '' || token === PLACEHOLDER_BOT_TOKEN;
  const demo = unset && (options.demoToken ?? process.env.NODE_ENV !== 'production');
  const field = gate.config.provenance.describe('airflowConfiguration.authConfig.openmetadata.jwtToken');
  const notSet = `${field} is not set: generate a token for ${PIPELINE_BOT} in Settings → Bots and set OM_AUTH_JWT_TOKEN to it`;
  // Demo tokens are bound to the client's DPoP key when it has one (OM_DPOP_KEY_FILE).
  const demoToken = demo ? keptDemoToken(gate, () => client.dpopJkt) : undefined;
  if (unset && !demo) console.warn(`jwt-gate example: pipelines are disabled: ${notSet}.`);
  const client = createPipelineServiceClient(airflow, {
    provenance: gate.config.provenance,
    baseDir: gate.config.baseDir,
    ...(demoToken ? { tokenProvider: () => demoToken.get() } : {}),
    ...(unset && !demo ? { tokenProvider: () => Promise.reject(new Error(notSet)) } : {}),
  });

  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(INGESTION_PIPELINES_PATH, gate.requireAdmin, express.json({ limit: '256kb' }));
  router.post(
    `${INGESTION_PIPELINES_PATH}/deploy/:name`,
    relay(demo, (req) => {
      const definition = isObject(req.body) ? req.body : {};
      return client.deployPipeline(req.params.name, definition);
    }),
  );
  router.post(
    `${INGESTION_PIPELINES_PATH}/trigger/:name`,
    relay(demo, (req) => client.triggerPipeline(req.params.name)),
  );
  router.get(
    `${INGESTION_PIPELINES_PATH}/status/:name`,
    relay(demo, (req) => client.pipelineStatus(req.params.name)),
  );
  return router;
}

/** Answers `{name, pipelineService: <its answer>}`, or a 502 that says what went wrong and the fix. */
type NamedRequest = Request<{ name: string }>;

function relay(demo: boolean, call: (req: NamedRequest) => Promise<unknown>) {
  return async function callPipelineService(
    req: NamedRequest,
    res: Response,
    next: NextFunction,
  ): Promise<void> {
    try {
      res.json({ name: req.params.name, pipelineService: await call(req) });
    } catch (err) {
      next(err instanceof PipelineServiceError ? badGateway(err, demo) : err);
    }
  };
}

function badGateway(err: PipelineServiceError, demo: boolean): ApiError {
  if (err.status !== 401)
    return new ApiError(502, 'ERR_PIPELINE_SERVICE_FAILED', err.message, { cause: err });
  const said = err.serverMessage === undefined ? '' : ` It said: "${err.serverMessage}"`;
  const fix = demo
    ? `restart this server to have it generate a new one (demo mode), or generate a token for ${PIPELINE_BOT} in Settings → Bots and set OM_AUTH_JWT_TOKEN to it`
    : `generate a new token for ${PIPELINE_BOT} in Settings → Bots, set OM_AUTH_JWT_TOKEN (airflowConfiguration.authConfig.openmetadata.jwtToken) to it and restart this server`;
  return new ApiError(
    502,
    'ERR_PIPELINE_SERVICE_FAILED',
    `The pipeline service rejected the bot token of ${demo ? DEMO_BOT : PIPELINE_BOT} (401): the token has been revoked or replaced, or has expired.${said} To fix it, ${fix}.`,
    { cause: err },
  );
}

interface DemoToken {
  get(): Promise<string>;
}

/** Demo mode's token: generated at first use, kept, replaced only when it is about to expire. */
function keptDemoToken(gate: JwtGate, dpopJkt: () => string | undefined): DemoToken {
  let kept: Promise<{ token: string; expiresAt: number | null }> | undefined;
  const actor = 'example-app (pipeline demo)';
  const generate = async (): Promise<{ token: string; expiresAt: number | null }> => {
    await gate.bots
      .createBot({ name: DEMO_BOT, description: 'Calls the pipeline service in demo mode.' }, actor)
      .catch((err: unknown) => {
        if (!(err instanceof ApiError && err.status === 409)) throw err; // it exists already: fine
      });
    const minted = await gate.bots.generateToken(DEMO_BOT, DEMO_EXPIRY, actor, undefined, dpopJkt());
    return { token: minted.JWTToken, expiresAt: minted.JWTTokenExpiresAt };
  };
  const use = async (): Promise<string> => {
    const pending = (kept ??= generate());
    const current = await pending.catch((err: unknown) => {
      if (kept === pending) kept = undefined; // a failed generation is retried at the next call
      throw err;
    });
    if (current.expiresAt !== null && Date.now() > current.expiresAt - RENEW_BEFORE_MS) {
      if (kept === pending) kept = undefined;
      return use();
    }
    return current.token;
  };
  return { get: use };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
