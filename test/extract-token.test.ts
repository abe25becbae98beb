import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { InvalidRequestError } from '../lib/errors.js';
import {
  extractBearerToken,
  hasDuplicateAuthorization,
  sentWithDpopScheme,
} from '../lib/verify/extract-token.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl';

function request(headers: IncomingHttpHeaders, extra: { query?: unknown; body?: unknown } = {}) {
  const rawHeaders = Object.entries(headers).flatMap(([name, value]) => [name, String(value)]);
  return { headers, rawHeaders, ...extra };
}

/** Asserts a 400 invalid_request whose message, description and challenge never echo `secret`. */
function assertInvalidRequest(fn: () => unknown, description: RegExp, secret = TOKEN): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'ERR_REQUEST_INVALID');
    assert.equal(err.error, 'invalid_request');
    assert.match(err.description, description);
    const challenge = err.headers['WWW-Authenticate'] ?? '';
    assert.match(challenge, /^Bearer realm="jwt-gate", error="invalid_request", error_description="/);
    for (const text of [err.message, err.description, challenge]) assert.ok(!text.includes(secret), text);
    return true;
  });
}

describe('extractBearerToken', () => {
  it('returns the token of "Authorization: Bearer <token>"', () => {
    assert.equal(extractBearerToken(request({ authorization: `Bearer ${TOKEN}` })), TOKEN);
  });

  it('matches the scheme case-insensitively', () => {
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      assert.equal(extractBearerToken(request({ authorization: `${scheme} ${TOKEN}` })), TOKEN);
    }
  });

  it('accepts every b64token character, trailing "=" and several spaces after the scheme', () => {
    const token = 'Az09-._~+/token==';
    assert.equal(extractBearerToken(request({ authorization: `Bearer ${token}` })), token);
    assert.equal(extractBearerToken(request({ authorization: `Bearer   ${TOKEN}` })), TOKEN);
  });

  it('returns undefined when there are no credentials or another scheme', () => {
    assert.equal(extractBearerToken(request({})), undefined);
    assert.equal(extractBearerToken({ headers: {} }), undefined);
    assert.equal(extractBearerToken(request({ authorization: 'Basic dXNlcjpwYXNz' })), undefined);
    assert.equal(extractBearerToken(request({ authorization: `BearerX ${TOKEN}` })), undefined);
    assert.equal(extractBearerToken(request({ authorization: 'Bear' })), undefined);
    // Case-insensitive in ASCII only: look-alike letters are another scheme.
    for (const scheme of ['\u0392earer', 'Bearer'.replace('a', '\u00e1'), 'BEARE\u0280'])
      assert.equal(extractBearerToken(request({ authorization: `${scheme} ${TOKEN}` })), undefined);
  });

  it('returns the token of "Authorization: DPoP <token>" (RFC 9449 §7.1), with the same syntax rules', () => {
    for (const scheme of ['DPoP', 'dpop', 'DPOP']) {
      const req = request({ authorization: `${scheme} ${TOKEN}` });
      assert.equal(extractBearerToken(req), TOKEN);
      assert.equal(sentWithDpopScheme(req), true);
    }
    assert.equal(sentWithDpopScheme(request({ authorization: `Bearer ${TOKEN}` })), false);
    assert.equal(sentWithDpopScheme(request({})), false);
    assert.equal(extractBearerToken(request({ authorization: `DPoPX ${TOKEN}` })), undefined);
    assert.equal(extractBearerToken(request({ authorization: `DPo ${TOKEN}` })), undefined);
    assertInvalidRequest(
      () => extractBearerToken(request({ authorization: 'DPoP ' })),
      /says DPoP but carries no token/,
    );
    assertInvalidRequest(
      () => extractBearerToken(request({ authorization: `DPoP ${TOKEN} ${TOKEN}` })),
      /exactly one token after DPoP/,
    );
    assertInvalidRequest(
      () =>
        extractBearerToken(request({ authorization: `DPoP ${TOKEN}` }, { query: { access_token: TOKEN } })),
      /more than one way/,
    );
  });

  it('refuses Bearer with no token, or only whitespace', () => {
    for (const authorization of ['Bearer', 'Bearer ', 'Bearer    ', 'bearer \t ']) {
      assertInvalidRequest(() => extractBearerToken(request({ authorization })), /carries no token/);
    }
  });

  it('refuses more than one token after Bearer', () => {
    assertInvalidRequest(
      () => extractBearerToken(request({ authorization: `Bearer ${TOKEN} ${TOKEN}` })),
      /exactly one token/,
    );
    assertInvalidRequest(
      () => extractBearerToken(request({ authorization: `Bearer ${TOKEN}, Bearer other` })),
      /exactly one token/,
    );
  });

  it('refuses characters outside the b64token set, or "=" before the end', () => {
    for (const token of [`${TOKEN}"`, `${TOKEN}\u00e9`, `a=b${TOKEN}`, `${TOKEN};x`]) {
      assertInvalidRequest(
        () => extractBearerToken(request({ authorization: `Bearer ${token}` })),
        /characters that are not allowed/,
        token,
      );
    }
  });

  it('refuses two Authorization headers, seen only in rawHeaders', () => {
    const req = {
      headers: { authorization: `Bearer ${TOKEN}` },
      rawHeaders: ['Host', 'x', 'Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other'],
    };
    assertInvalidRequest(() => extractBearerToken(req), /more than one Authorization header/);
  });

  it('refuses a token in the query, saying to use the header', () => {
    const query = parseQuery(`access_token=${TOKEN}`); // null-prototype object, like Express's parser
    assertInvalidRequest(
      () => extractBearerToken(request({}, { query })),
      /not accepted in the URL query.*Authorization: Bearer <token>/,
    );
    assertInvalidRequest(
      () =>
        extractBearerToken(request({ authorization: 'Basic dXNlcjpwYXNz' }, { query: { access_token: '' } })),
      /not accepted in the URL query/,
    );
  });

  it('refuses a token sent both in the header and as access_token', () => {
    assertInvalidRequest(
      () =>
        extractBearerToken(request({ authorization: `Bearer ${TOKEN}` }, { query: { access_token: TOKEN } })),
      /more than one way.*URL query/,
    );
    const form = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' };
    assertInvalidRequest(
      () => extractBearerToken(request(form, { body: { access_token: TOKEN } })),
      /more than one way.*request body/,
    );
  });

  it('refuses a token in a form-encoded body alone', () => {
    const headers = { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' };
    assertInvalidRequest(
      () => extractBearerToken(request(headers, { body: { access_token: TOKEN } })),
      /not accepted in the request body/,
    );
  });

  it('treats access_token in a JSON body, or inherited from a prototype, as data', () => {
    const json = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    assert.equal(extractBearerToken(request(json, { body: { access_token: 'stored-value' } })), TOKEN);
    const inherited = Object.create({ access_token: 'x' }) as object;
    assert.equal(
      extractBearerToken(request({ authorization: `Bearer ${TOKEN}` }, { query: inherited })),
      TOKEN,
    );
  });
});

describe('hasDuplicateAuthorization', () => {
  it('counts Authorization fields of any case in the raw list', () => {
    assert.equal(hasDuplicateAuthorization(undefined), false);
    assert.equal(hasDuplicateAuthorization([]), false);
    assert.equal(hasDuplicateAuthorization(['Authorization', 'a', 'Accept', 'authorization']), false);
    assert.equal(hasDuplicateAuthorization(['AUTHORIZATION', 'a', 'authorization', 'b']), true);
    assert.equal(hasDuplicateAuthorization(['Proxy-Authorization', 'a', 'Authorization', 'b']), false);
  });
});

describe('extractBearerToken on a real Node server', () => {
  let server: Server;
  let port: number;
  let lastOutcome: string;

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      try {
        lastOutcome = `token:${extractBearerToken(req) ?? 'none'}`;
      } catch (err) {
        lastOutcome = err instanceof InvalidRequestError ? `400:${req.headers.authorization}` : 'other';
      }
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function send(rawRequest: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(rawRequest));
      socket.on('data', () => undefined);
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
  }

  it('sees a second Authorization header that Node drops from req.headers', async () => {
    await send(
      `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nAuthorization: Bearer other\r\nConnection: close\r\n\r\n`,
    );
    // req.headers kept only the first value; the raw list revealed the duplicate.
    assert.equal(lastOutcome, `400:Bearer ${TOKEN}`);
  });

  it('extracts the token from a single header', async () => {
    await send(`GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}  \r\nConnection: close\r\n\r\n`);
    assert.equal(lastOutcome, `token:${TOKEN}`);
  });
});
