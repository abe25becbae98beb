import express, { type Router } from 'express';
import type { KeySourceHealth } from '../verify/key-source.js';
import { methodNotAllowed, securityHeaders } from './router-helpers.js';

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
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get(HEALTH_PATH, securityHeaders, function serveHealth(_req, res) {
    const body = report();
    res.setHeader('Cache-Control', 'no-store');
    res.status(body.store !== null && !body.store.healthy ? 503 : 200).json(body);
  });
  router.all(HEALTH_PATH, securityHeaders, methodNotAllowed('GET, HEAD'));
  return router;
}
