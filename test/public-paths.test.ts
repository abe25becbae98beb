import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ConfigError } from '../lib/errors.js';
import { createPublicPathMatcher } from '../lib/http/middleware/public-paths.js';

const PUBLIC = [
  '/api/v1/config/jwks',
  '/api/v1/system/config/jwks',
  '/api/v1/system/config/auth',
  '/healthz',
];

const NOT_PUBLIC = [
  '/api/v1;x/config/jwks',
  '/api/v1/config/jwks;x',
  '/api/v1;v1%2fusers%2flogin/config/jwks',
  '/api/v1/config/jwks/..',
  '/api/v1/config/jwks/.',
  '/api/v1/config/jwks/../../tables',
  '/api/v1/config/./jwks',
  '/api/v1/x/../config/jwks',
  '/api/v1/config%2fjwks',
  '/api/v1/config%2Fjwks',
  '/api/v1/config%5cjwks',
  '/api/v1/config/%2e%2e/jwks',
  '/api/v1/config/jwk%73',
  '/api/v1/config\\jwks',
  '/api/v1//config/jwks',
  '//api/v1/config/jwks',
  '/API/v1/config/jwks',
  '/api/v1/config/JWKS',
  '/api/v1/config/jwks/',
  '/api/v1/config/jwks/extra',
  '/api/v1/config/jwksx',
  '/api/v1/config',
  '/api/v1/config/jwks\u0000',
  '/api/v1/config/jwks#x',
  ' /api/v1/config/jwks',
  'http://localhost/api/v1/config/jwks',
  '/api/v1/tables?x=/api/v1/config/jwks',
  '/api/v1/tables/api/v1/config/jwks',
  '/',
];

describe('createPublicPathMatcher', () => {
  const isPublic = createPublicPathMatcher(PUBLIC);

  it('makes exactly the configured paths public for GET and HEAD, with any query', () => {
    for (const path of PUBLIC) {
      for (const method of ['GET', 'HEAD']) {
        assert.equal(isPublic({ method, url: path }), true, `${method} ${path}`);
      }
      assert.equal(isPublic({ method: 'GET', url: `${path}?x=1&y=%2f` }), true);
    }
  });

  it('requires a token for every other method', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get', 'TRACE']) {
      assert.equal(isPublic({ method, url: '/api/v1/config/jwks' }), false, method);
    }
  });

  it('requires a token for encoded, dotted, doubled, parameterised, re-cased and prefixed variants', () => {
    for (const url of NOT_PUBLIC) {
      assert.equal(isPublic({ method: 'GET', url }), false, url);
    }
  });

  it('judges the full originalUrl, not the url a mounted router rewrites', () => {
    // Mounted at /api: Express sets url (and path) to /v1/config/jwks and keeps originalUrl.
    assert.equal(
      isPublic({
        method: 'GET',
        originalUrl: '/api/v1/config/jwks',
        url: '/v1/config/jwks',
        path: '/v1/config/jwks',
      }),
      true,
    );
    assert.equal(
      isPublic({ method: 'GET', originalUrl: '/api/v1;x/config/jwks', url: '/api/v1/config/jwks' }),
      false,
    );
  });

  it('makes nothing public when no paths are configured', () => {
    assert.equal(createPublicPathMatcher([])({ method: 'GET', url: '/' }), false);
  });

  it('refuses configured paths that are not plain absolute paths, naming the field', () => {
    const bad: Array<[string, RegExp]> = [
      ['api/v1/config/jwks', /must be a path starting with "\/"/],
      ['/api/v1;x/config/jwks', /may contain only ASCII letters/],
      ['/api/v1/config%2fjwks', /may contain only/],
      ['/api/v1/config/jwks?x=1', /may contain only/],
      ['/api/v1\\config', /may contain only/],
      ['/api//v1', /must not contain "\/\/"/],
      ['/api/./v1', /"\." or "\.\." segments/],
      ['/api/v1/..', /"\." or "\.\." segments/],
      ['/api/v1/', /must not end with "\/"/],
    ];
    for (const [path, reason] of bad) {
      assert.throws(
        () => createPublicPathMatcher(['/healthz', path], 'verificationConfiguration.publicPaths'),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.code, 'ERR_CONFIG_INVALID');
          assert.ok(err.message.startsWith('verificationConfiguration.publicPaths[1] ('), err.message);
          assert.match(err.message, reason);
          return true;
        },
      );
    }
  });
});

describe('public paths in a real Express app', () => {
  let server: Server;
  let port: number;

  before(async () => {
    const isPublic = createPublicPathMatcher(['/api/v1/config/jwks', '/healthz']);
    const api = express.Router();
    // The gate, mounted under /api: anything not public needs a token.
    api.use((req, res, next) => {
      if (isPublic(req) || req.headers.authorization === 'Bearer good') return next();
      res.status(401).json({ code: 401, message: 'Not Authorized! Authentication is required.' });
    });
    api.get('/v1/config/jwks', (_req, res) => {
      res.json({ keys: [] });
    });
    api.get('/v1/users/login', (_req, res) => {
      res.json({ secret: 'users' });
    });
    api.use((_req, res) => {
      res.status(404).json({ code: 404 });
    });
    const app = express();
    app.use('/api', api);
    app.get('/healthz', (_req, res) => {
      res.send('ok');
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** Sends the request target verbatim (no client-side normalisation of dots or escapes). */
  function get(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves the public routes without a token', async () => {
    assert.equal(await get('/api/v1/config/jwks'), 200);
    assert.equal(await get('/api/v1/config/jwks?cache=no'), 200);
    assert.equal(await get('/healthz'), 200);
  });

  it('answers 401, not the route, for the reference bypass and its relatives', async () => {
    for (const path of [
      '/api/v1;v1%2fusers%2flogin/config/jwks',
      '/api/v1/config/jwks/../../v1/users/login',
      '/api/v1/config%2fjwks',
      '/api/v1/config/jwks/',
      '/API/v1/config/jwks',
      '/api/v1/users/login',
      '/api/v1/users/login?/api/v1/config/jwks',
    ]) {
      assert.equal(await get(path), 401, path);
    }
  });
});
