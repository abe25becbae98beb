import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { createErrorHandler } from '../lib/http/middleware/error-handler.js';
import { InvalidTokenError, MissingTokenError, ServiceUnavailableError } from '../lib/errors.js';

describe('error rendering', function () {
  function appThrowing(err: unknown) {
    const app = express();
    app.get('/', (_req, _res, next) => next(err));
    app.use(createErrorHandler());
    return app;
  }

  it('keeps WWW-Authenticate a valid RFC 6750 header whatever the description holds', async function () {
    const err = new InvalidTokenError('ERR_TOKEN_MALFORMED', 'bad → "quoted" \\ and\nnewline é').setRealm(
      'api "prod"',
    );
    const res = await request(appThrowing(err)).get('/');
    assert.equal(res.status, 401);
    const header = String(res.headers['www-authenticate']);
    assert.match(
      header,
      /^Bearer realm="api 'prod'", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$/,
    );
    assert.equal(
      res.body.message,
      'Not Authorized! bad → "quoted" \\ and\nnewline é',
      'the JSON body keeps the words',
    );
  });

  it('renders the reference JSON body with status and stable code, and Retry-After on 503', async function () {
    const missing = await request(appThrowing(new MissingTokenError())).get('/');
    assert.deepEqual(missing.body, {
      code: 401,
      message: 'Not Authorized! Authentication is required: send Authorization: Bearer <token>.',
      errorCode: 'ERR_TOKEN_MISSING',
    });
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="jwt-gate"');
    const down = await request(
      appThrowing(new ServiceUnavailableError('ERR_KEYS_UNAVAILABLE', 'Keys unavailable.', 7.2)),
    ).get('/');
    assert.equal(down.status, 503);
    assert.equal(down.headers['retry-after'], '8');
  });

  it('renders client errors raised by Express itself (a malformed % escape, bad JSON) as JSON, without a stack', async function () {
    const app = express();
    app.get('/api/v1/bots/:name', (_req, res) => {
      res.json({});
    });
    app.post('/json', express.json(), (_req, res) => {
      res.json({});
    });
    app.use(createErrorHandler());
    const escape = await request(app).get('/api/v1/bots/%ZZ');
    assert.equal(escape.status, 400);
    assert.deepEqual(escape.body, {
      code: 400,
      message: 'The request could not be handled: Bad Request.',
      errorCode: 'ERR_BAD_REQUEST',
    });
    const json = await request(app).post('/json').set('Content-Type', 'application/json').send('{"a":');
    assert.equal(json.status, 400);
    assert.doesNotMatch(json.text, /at .*\.js|SyntaxError|node_modules/);
  });

  it('passes errors that are not jwt-gate errors to the app unchanged', async function () {
    const app = express();
    app.get('/', (_req, _res, next) => next(new Error('boom')));
    app.use(createErrorHandler());
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(418).json({ mine: err.message });
    });
    const res = await request(app).get('/');
    assert.equal(res.status, 418);
    assert.deepEqual(res.body, { mine: 'boom' });
  });
});
