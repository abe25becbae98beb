/** What every router of lib/http uses: the public routes, the bot API and the Bots page. */
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { ApiError } from '../errors.js';

/** helmet's defaults for JSON endpoints: nothing here is meant to be framed or sniffed. */
export const securityHeaders: RequestHandler = helmet();

/** 405 with `Allow`, for every method a route does not serve. */
export function methodNotAllowed(allow: string): RequestHandler {
  return function methodNotAllowedHandler(req, _res, next) {
    const err = new ApiError(405, 'ERR_BAD_REQUEST', `${req.method} is not allowed here; use ${allow}.`);
    err.headers.Allow = allow;
    next(err);
  };
}
