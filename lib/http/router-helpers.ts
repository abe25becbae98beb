/** What every router of lib/http uses: the public routes, the token APIs and the Bots page. */
import express, { type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { isPlainObject } from '../config/apply-defaults.js';
import { ApiError, badRequest } from '../errors.js';

/** Largest JSON body the token APIs read. */
const BODY_LIMIT = '16kb';

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

/**
 * The actor an audit row names: the full identity, so two people whose names share the part
 * before `@` stay apart in the log.
 */
export function actorOf(req: Request): string {
  const user = req.user!;
  return user.email !== null
    ? `${user.name} <${user.email}>`
    : `${user.name} (${user.issuer} ${user.subject})`;
}

/** Token API answers name tokens and admin data: never stored by a cache. */
export const noStore: RequestHandler = function noStore(_req, res, next) {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** An async handler whose rejection reaches `next` (Express 4 does not do this by itself). */
export function route(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return function tokenRoute(req, res, next) {
    handler(req, res).catch(next);
  };
}

/** `express.json`, with its failures turned into our 400/413/415 `ApiError`s. */
export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: BODY_LIMIT });
  return function parseTokenApiJson(req, res, next) {
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
export function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object.');
  return body;
}
