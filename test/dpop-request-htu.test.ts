import assert from 'node:assert/strict';
import { type HtuRequest, createRequestHtu, requestHtu } from '../lib/dpop/request-htu.js';
import { ConfigError, DpopProofError } from '../lib/errors.js';

interface FakeRequest {
  url?: string;
  host?: string;
  peer?: string;
  tls?: boolean;
  headers?: Record<string, string | string[]>;
}

/** The parts of a request `requestHtu` reads; a plain HTTP request to api.example.com by default. */
function fakeRequest(options: FakeRequest = {}): HtuRequest {
  return {
    originalUrl: options.url ?? '/api/v1/tables?limit=5',
    headers: { host: options.host ?? 'api.example.com', ...options.headers },
    socket: { remoteAddress: options.peer ?? '203.0.113.9', encrypted: options.tls ?? false },
  };
}

describe('the request URL for DPoP (htu)', function () {
  it('uses the socket and the Host header when nothing is configured, without query', function () {
    assert.equal(requestHtu(fakeRequest()), 'http://api.example.com/api/v1/tables');
    assert.equal(
      requestHtu(fakeRequest({ tls: true, host: 'API.example.com:443' })),
      'https://api.example.com/api/v1/tables',
    );
    assert.equal(requestHtu(fakeRequest({ host: 'localhost:3000', url: '/x#f' })), 'http://localhost:3000/x');
  });

  it('with externalOrigin, ignores a differing Host header (a proof minted for another host fails)', function () {
    const htuOf = createRequestHtu({ externalOrigin: 'https://api.example.com' });
    assert.equal(htuOf(fakeRequest({ host: 'other.example.net' })), 'https://api.example.com/api/v1/tables');
    assert.equal(
      htuOf(
        fakeRequest({
          host: 'evil.example',
          headers: { 'x-forwarded-host': 'evil.example' },
          peer: '10.0.0.1',
        }),
      ),
      'https://api.example.com/api/v1/tables',
    );
    // A path starting with "//" stays a path.
    assert.equal(htuOf(fakeRequest({ url: '//evil.example/x' })), 'https://api.example.com//evil.example/x');
  });

  it('reads X-Forwarded-* only from a trusted proxy, IPv4-mapped forms included', function () {
    const htuOf = createRequestHtu({ trustedProxies: ['10.0.0.1', '2001:db8::1'] });
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };
    const internal = { host: 'backend:8080', headers: forwarded };
    assert.equal(
      htuOf(fakeRequest({ ...internal, peer: '10.0.0.1' })),
      'https://api.example.com/api/v1/tables',
    );
    assert.equal(
      htuOf(fakeRequest({ ...internal, peer: '::ffff:10.0.0.1' })),
      'https://api.example.com/api/v1/tables',
    );
    assert.equal(
      htuOf(fakeRequest({ ...internal, peer: '2001:DB8::1' })),
      'https://api.example.com/api/v1/tables',
    );
    assert.equal(htuOf(fakeRequest({ ...internal, peer: '10.0.0.2' })), 'http://backend:8080/api/v1/tables');
    assert.equal(
      requestHtu(fakeRequest({ ...internal, peer: '10.0.0.1' })),
      'http://backend:8080/api/v1/tables',
    );
  });

  it('takes the value the trusted proxy appended (the last), not one the client sent', function () {
    const htuOf = createRequestHtu({ trustedProxies: ['10.0.0.1'] });
    const req = fakeRequest({
      peer: '10.0.0.1',
      headers: { 'x-forwarded-proto': 'http, https', 'x-forwarded-host': 'evil.example, api.example.com' },
    });
    assert.equal(htuOf(req), 'https://api.example.com/api/v1/tables');
  });

  it('refuses hosts and targets that could move the authority', function () {
    for (const host of ['evil.example@api.example.com', 'a/b', 'a b', '']) {
      assert.throws(() => requestHtu(fakeRequest({ host })), DpopProofError);
    }
    assert.throws(() => requestHtu(fakeRequest({ url: 'http://evil.example/x' })), DpopProofError);
    assert.throws(() => requestHtu(fakeRequest({ url: '*' })), DpopProofError);
    const htuOf = createRequestHtu({ trustedProxies: ['10.0.0.1'] });
    assert.throws(
      () => htuOf(fakeRequest({ peer: '10.0.0.1', headers: { 'x-forwarded-proto': 'gopher' } })),
      DpopProofError,
    );
  });

  it('rejects bad options at start-up, naming the option', function () {
    for (const externalOrigin of [
      'api.example.com',
      'https://api.example.com/base',
      'https://api.example.com?x',
      'ftp://a',
    ]) {
      assert.throws(
        () => createRequestHtu({ externalOrigin }),
        (err: unknown) => err instanceof ConfigError && /externalOrigin/.test(err.message),
      );
    }
    assert.throws(() => createRequestHtu({ trustedProxies: ['10.0.0.0/8'] }), /trustedProxies/);
    assert.equal(
      createRequestHtu({ externalOrigin: 'HTTPS://API.example.com:443/' })(fakeRequest()),
      'https://api.example.com/api/v1/tables',
    );
  });
});
