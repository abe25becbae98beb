import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { ApiError, ChallengeError, HttpError } from '../../errors.js';

export interface ErrorHandlerOptions {
  /**
   * The RFC 9728 metadata URL: added (as `resource_metadata`) to a Bearer or DPoP challenge that does not
   * name one yet — a guard's 401 or 403 raised outside `gate.authenticate`.
   */
  resourceMetadata?: string;
}

/**
 * Renders jwt-gate's errors as `{"code": status, "message": …, "errorCode": "ERR_…"}` with their
 * headers (`WWW-Authenticate`, `Retry-After`, `Allow`). Other client errors raised by Express
 * itself on the way to a route (a malformed `%` escape in a path, a body-parser failure) are
 * rendered the same way with a generic message, never Express's HTML page with a stack trace.
 * Anything else (5xx, the app's own errors) is passed on to the app's error handler, unchanged.
 */
export function createErrorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const { resourceMetadata } = options;
  return function jwtGateErrorHandler(err: unknown, _req, res, next) {
    const rendered = err instanceof HttpError ? err : clientError(err);
    if (rendered === undefined || res.headersSent) {
      next(err);
      return;
    }
    if (resourceMetadata !== undefined && rendered instanceof ChallengeError && !rendered.resourceMetadata) {
      rendered.setRealm(rendered.realm, resourceMetadata);
    }
    for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
    res.status(rendered.status).json(rendered.toJSON());
  };
}

/** A 4xx raised by Express, its router or body-parser (they set `status`), as an `ApiError`. */
function clientError(err: unknown): ApiError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return undefined;
  const reason = STATUS_CODES[code] ?? 'Bad Request';
  return new ApiError(code, 'ERR_BAD_REQUEST', `The request could not be handled: ${reason}.`, {
    cause: err,
  });
}
