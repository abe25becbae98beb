import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { MIN_HEALTH_TOKEN_LENGTH } from '../../config/schema.js';
import { ConfigError, type JwtGateError } from '../../errors.js';
import { extractBearerToken } from '../../verify/extract-token.js';
import type { KeySourceHealth } from '../../verify/key-source.js';
import type { Principal } from '../../verify/principal.js';
import { type PublicRoute, publicRouter } from './public-routes.js';

export const HEALTH_PATH = '/api/v1/system/health';

/** The full report: for admins, the operator token and the app's own code (`gate.health()`). */
export interface HealthReport {
  status: 'ok' | 'degraded';
  sources: KeySourceHealth[];
  store: { kind: string; healthy: boolean } | null;
}

/** What everyone else gets: enough for a load balancer, nothing about the deployment. */
export interface HealthStatus {
  status: HealthReport['status'];
}

/** Verifies a bearer token to a principal: the gate's `TokenVerifier` fits. */
export interface HealthTokenVerifier {
  verify(
    req: Request,
    res: Response,
    token: string,
    done: (err: JwtGateError | null, principal?: Principal) => void,
  ): void;
}

/** Who may read the details of the health report; with neither, nobody can (status only). */
export interface HealthDetailsAccess {
  /** Verifies a bearer token; a verified admin (`isAdmin && !isBot`) gets the details. */
  verifier?: HealthTokenVerifier;
  /**
   * The operator token (`healthConfiguration.detailsToken`): sent as
   * `Authorization: Bearer <token>`, it gets the details. `''` or absent: no operator token.
   */
  detailsToken?: string;
}

/**
 * The health route, `GET /api/v1/system/health`, public (no token needed) for load balancers.
 *
 * Everyone gets `{"status":"ok"}` or `{"status":"degraded"}` with `Cache-Control: no-store`:
 * 503 when the bot store is unhealthy (bot tokens then fail closed), else 200 — also while a
 * remote JWKS source is failing (`degraded`): tokens of the other sources, and of that source
 * while its stale keys last, still verify, so taking the instance out of rotation would not help.
 *
 * The details (each key source's URL, health, last error and fetch count; the store's kind) go
 * only to a request whose bearer token verifies to an admin, or that carries the operator token.
 * Any other token — valid, invalid, expired, malformed — gets the status answer, never a 401:
 * a load balancer's check must not fail because of a stale header.
 *
 * @param report Builds the full report on each request (the gate passes `gate.health`).
 * @param access Who may see the details. Default: nobody.
 * @throws {ConfigError} when `access.detailsToken` is set but shorter than 32 characters.
 * @example app.use(createHealthRouter(gate.health, { detailsToken: process.env.HEALTH_TOKEN }));
 */
export function createHealthRouter(report: () => HealthReport, access: HealthDetailsAccess = {}): Router {
  return publicRouter(healthRoute(report, access));
}

/** The health view as a public route (see `createHealthRouter`). */
export function healthRoute(report: () => HealthReport, access: HealthDetailsAccess = {}): PublicRoute {
  const mayReadDetails = detailsPolicy(access);
  return {
    paths: [HEALTH_PATH],
    handle: function serveHealth(req, res) {
      mayReadDetails(req, res, (details) => {
        // Built after the check (which may have waited on a key fetch), so the answer is current.
        const body = report();
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Vary', 'Authorization');
        res
          .status(body.store !== null && !body.store.healthy ? 503 : 200)
          .json(details ? body : ({ status: body.status } satisfies HealthStatus));
      });
    },
  };
}

type DetailsDecision = (req: Request, res: Response, decide: (details: boolean) => void) => void;

function detailsPolicy(access: HealthDetailsAccess): DetailsDecision {
  const { verifier } = access;
  const isOperator = operatorCheck(access.detailsToken ?? '');
  return function mayReadDetails(req, res, decide) {
    let token: string | undefined;
    try {
      token = extractBearerToken(req);
    } catch {
      // A malformed Authorization header is still a health check: status only.
      decide(false);
      return;
    }
    if (token === undefined) decide(false);
    else if (isOperator(token)) decide(true);
    else if (verifier === undefined) decide(false);
    else verifier.verify(req, res, token, (err, principal) => decide(err === null && isAdmin(principal)));
  };
}

/** Admins only, as `requireAdmin`: a person listed in `adminPrincipals`, never a bot. */
function isAdmin(principal: Principal | undefined): boolean {
  return principal !== undefined && principal.isAdmin && !principal.isBot;
}

/** A constant-time comparison with the operator token: both sides hashed, then `timingSafeEqual`. */
function operatorCheck(detailsToken: string): (token: string) => boolean {
  if (detailsToken === '') return () => false;
  if (detailsToken.length < MIN_HEALTH_TOKEN_LENGTH) {
    // The config schema reports this for the gate; this guards direct callers of createHealthRouter.
    throw new ConfigError(
      `createHealthRouter: detailsToken must be at least ${MIN_HEALTH_TOKEN_LENGTH} characters, or empty for none; use a long random value (e.g. \`openssl rand -hex 32\`).`,
    );
  }
  const expected = sha256(detailsToken);
  return (token) => timingSafeEqual(sha256(token), expected);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
