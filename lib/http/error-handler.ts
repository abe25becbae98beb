import type { ErrorRequestHandler } from 'express';
import { HttpError } from '../errors.js';

/**
 * Renders jwt-gate's errors as `{"code": status, "message": …, "errorCode": "ERR_…"}` with their
 * headers (`WWW-Authenticate`, `Retry-After`, `Allow`). Anything else — and a body-parser error —
 * is passed on to the app's own error handler, unchanged.
 */
export function createErrorHandler(): ErrorRequestHandler {
  return function jwtGateErrorHandler(err: unknown, _req, res, next) {
    if (!(err instanceof HttpError) || res.headersSent) {
      next(err);
      return;
    }
    for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
    res.status(err.status).json(err.toJSON());
  };
}
