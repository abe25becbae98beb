import type { Router } from 'express';
import type { KeySourceHealth } from '../verify/key-source.js';
import { type PublicRoute, publicRouter } from './router-helpers.js';

export const HEALTH_PATH = '/api/v1/system/health';

export interface HealthReport {
  status: 'ok' | 'degraded';
  sources: KeySourceHealth[];
  store: { kind: string; healthy: boolean } | null;
}

/**
 * Public readiness view: which key sources are healthy and how old their keys are, and whether
 * the bot store answers. 200 while our own tokens can be verified; 503 when the store is down
 * (bot tokens then fail closed). No secrets, no token data.
 */
export function createHealthRouter(report: () => HealthReport): Router {
  return publicRouter(healthRoute(report));
}

/** The health view as a public route (see `createHealthRouter`). */
export function healthRoute(report: () => HealthReport): PublicRoute {
  return {
    paths: [HEALTH_PATH],
    handle: function serveHealth(_req, res) {
      const body = report();
      res.setHeader('Cache-Control', 'no-store');
      res.status(body.store !== null && !body.store.healthy ? 503 : 200).json(body);
    },
  };
}
