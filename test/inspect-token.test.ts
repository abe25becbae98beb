import assert from 'node:assert/strict';
import { InvalidTokenError, type JwtGateErrorCode } from '../lib/errors.js';
import { inspectToken } from '../lib/verify/inspect-token.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64url');
const SIGNATURE = b64('signature-bytes');
const OPTS = { maxBytes: 8192 };

/** A compact token from raw JSON texts (so tests can write keys JSON.stringify would not). */
function rawToken(headerJson: string, payloadJson = '{"sub":"bot"}', signature = SIGNATURE): string {
  return `${b64(headerJson)}.${b64(payloadJson)}.${signature}`;
}

function token(
  header: Record<string, unknown> = { alg: 'RS256' },
  payload: unknown = { sub: 'bot' },
): string {
  return rawToken(JSON.stringify(header), JSON.stringify(payload));
}

/** Asserts a 401 invalid_token with `code`, whose texts never echo the token. */
function assertRejected(tok: string, code: JwtGateErrorCode, description?: RegExp): void {
  assert.throws(
    () => inspectToken(tok, OPTS),
    (err: unknown) => {
      assert.ok(err instanceof InvalidTokenError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.error, 'invalid_token');
      assert.equal(err.code, code, err.description);
      if (description) assert.match(err.description, description);
      const challenge = err.headers['WWW-Authenticate'] ?? '';
      assert.match(challenge, /error="invalid_token", error_description="/);
      if (tok !== '')
        for (const text of [err.message, err.description, challenge]) assert.ok(!text.includes(tok));
      return true;
    },
  );
}

describe('inspectToken: structure', () => {
  it('decodes a well-formed token into header, frozen payload, signing input and signature', () => {
    const tok = token(
      { alg: 'RS256', kid: 'key-1', typ: 'JWT' },
      { iss: 'open-metadata.org', sub: 'ingestion-bot', roles: ['a'], nested: { x: 1 } },
    );
    const inspected = inspectToken(tok, OPTS);
    assert.deepEqual(inspected.header, { alg: 'RS256', kid: 'key-1', typ: 'JWT' });
    assert.deepEqual(inspected.payload, {
      iss: 'open-metadata.org',
      sub: 'ingestion-bot',
      roles: ['a'],
      nested: { x: 1 },
    });
    assert.equal(inspected.signingInput, tok.slice(0, tok.lastIndexOf('.')));
    assert.equal(inspected.signature.toString(), 'signature-bytes');
    assert.ok(Object.isFrozen(inspected.payload));
    assert.ok(Object.isFrozen(inspected.payload.roles));
    assert.ok(Object.isFrozen(inspected.payload.nested));
  });

  it('keeps only alg, kid and typ in the returned header', () => {
    const inspected = inspectToken(token({ alg: 'ES256', x5t: 'abc', 'x5t#S256': 'def' }), OPTS);
    assert.deepEqual(inspected.header, { alg: 'ES256' });
  });

  it('returns one frozen header for tokens that share a header, and refuses a bad header every time', () => {
    const first = inspectToken(token({ alg: 'RS256', kid: 'k1' }, { sub: 'a' }), OPTS);
    const second = inspectToken(token({ alg: 'RS256', kid: 'k1' }, { sub: 'b' }), OPTS);
    assert.equal(second.header, first.header);
    assert.ok(Object.isFrozen(first.header));
    assert.deepEqual(inspectToken(token({ alg: 'RS256', kid: 'k2' }), OPTS).header, {
      alg: 'RS256',
      kid: 'k2',
    });
    for (let i = 0; i < 2; i++) assertRejected(token({ alg: 'HS256' }), 'ERR_TOKEN_ALG_NOT_ALLOWED');
    // Many distinct headers (a flood of made-up kids) still each get their own answer.
    for (let i = 0; i < 200; i++) {
      assert.equal(inspectToken(token({ alg: 'ES256', kid: `flood-${i}` }), OPTS).header.kid, `flood-${i}`);
    }
    assert.equal(inspectToken(token({ alg: 'RS256', kid: 'k1' }), OPTS).header.kid, 'k1');
    // Long header segments are checked every time, never remembered.
    const long = { alg: 'RS256', x5t: 'x'.repeat(600) };
    const [a, b] = [inspectToken(token(long), OPTS).header, inspectToken(token(long), OPTS).header];
    assert.notEqual(a, b);
    assert.deepEqual(a, { alg: 'RS256' });
    assert.ok(Object.isFrozen(a));
  });

  it('refuses tokens over maxBytes, saying the size and the limit', () => {
    const tok = token({ alg: 'RS256' }, { pad: 'x'.repeat(9000) });
    assertRejected(tok, 'ERR_TOKEN_TOO_LARGE', /is \d+ bytes; the largest accepted is 8192 bytes/);
    assert.doesNotThrow(() => inspectToken(tok, { maxBytes: tok.length }));
  });

  it('refuses anything but three dot-separated parts', () => {
    const [h, p, s] = token().split('.') as [string, string, string];
    for (const tok of [`${h}.${p}`, h, `${h}.${p}.${s}.${s}`, `${h}..${p}.${s}`, '']) {
      assertRejected(tok, 'ERR_TOKEN_MALFORMED', /three base64url parts/);
    }
    assertRejected(`${h}.${p}.${s}.${s}.${s}`, 'ERR_TOKEN_MALFORMED', /encrypted \(JWE/);
  });

  it('refuses an empty header, payload or signature (unsigned tokens included)', () => {
    const [h, p] = token().split('.') as [string, string];
    assertRejected(`.${p}.${SIGNATURE}`, 'ERR_TOKEN_MALFORMED', /header is empty/);
    assertRejected(`${h}..${SIGNATURE}`, 'ERR_TOKEN_MALFORMED', /payload is empty/);
    assertRejected(`${h}.${p}.`, 'ERR_TOKEN_MALFORMED', /signature is empty/);
  });

  it('refuses padding, "+", "/", whitespace and impossible lengths', () => {
    const [h, p] = token().split('.') as [string, string];
    assertRejected(`${h}.${p}.${SIGNATURE}=`, 'ERR_TOKEN_MALFORMED', /signature is not base64url/);
    assertRejected(`${h}=.${p}.${SIGNATURE}`, 'ERR_TOKEN_MALFORMED', /header is not base64url/);
    assertRejected(`${h}.${p}.ab+c`, 'ERR_TOKEN_MALFORMED', /not base64url/);
    assertRejected(`${h}.${p}.ab/c`, 'ERR_TOKEN_MALFORMED', /not base64url/);
    assertRejected(`${h}.${p} .${SIGNATURE}`, 'ERR_TOKEN_MALFORMED', /payload is not base64url/);
    assertRejected(`${h}.${p}.abcde`, 'ERR_TOKEN_MALFORMED', /impossible base64url length/);
  });

  it('refuses non-canonical encodings, so one token has one encoding', () => {
    const tok = token(); // each part's last character must carry zero unused bits
    const [h, p] = tok.split('.') as [string, string];
    // "AQ" is the canonical encoding of 0x01; "AR" decodes to the same byte with a stray bit.
    assert.doesNotThrow(() => inspectToken(`${h}.${p}.AQ`, OPTS));
    assertRejected(`${h}.${p}.AR`, 'ERR_TOKEN_MALFORMED', /not canonical/);
    // Three characters leave two unused bits: "AAE" is canonical, "AAF" is not.
    assert.doesNotThrow(() => inspectToken(`${h}.${p}.AAE`, OPTS));
    assertRejected(`${h}.${p}.AAF`, 'ERR_TOKEN_MALFORMED', /not canonical/);
  });

  it('refuses characters beyond ASCII, even those whose low byte is a base64url character', () => {
    const [h, p] = token().split('.') as [string, string];
    // Node's decoder reads only the low byte of these: "ł" (U+0142) would decode as "B".
    assertRejected(`${h}.${p}.QUF\u0142`, 'ERR_TOKEN_MALFORMED', /signature is not base64url/);
    assertRejected(`${h}.${p.slice(0, -1)}\u0146.AQ`, 'ERR_TOKEN_MALFORMED', /payload is not base64url/);
    assertRejected(`${h.slice(0, -1)}\u0141.${p}.AQ`, 'ERR_TOKEN_MALFORMED', /header is not base64url/);
    assertRejected(`${h}.${p}.QUF\u00c1`, 'ERR_TOKEN_MALFORMED', /signature is not base64url/);
  });

  it('accepts exactly the strict, canonical base64url segments (randomised against a reference)', () => {
    // Reference: only the base64url alphabet, and the bytes re-encode to the very same text.
    const strict = (segment: string): Buffer | null =>
      /^[A-Za-z0-9_-]+$/.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment
        ? Buffer.from(segment, 'base64url')
        : null;
    const [h, p] = token().split('.') as [string, string];
    const alphabet = 'AQgw-_+/=~. \t%\u0000\u007f\u0080\u00ff\u0141\u0142\u2028\ud800';
    let seed = 0x5eed;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      let signature = Buffer.from(Array.from({ length: random(9) }, () => random(256))).toString('base64url');
      for (let edits = random(3); edits > 0; edits--) {
        const at = random(signature.length + 1);
        const replace = random(2);
        signature =
          signature.slice(0, at) + alphabet[random(alphabet.length)] + signature.slice(at + replace);
      }
      if (signature.includes('.')) continue;
      const expected = strict(signature);
      const tok = `${h}.${p}.${signature}`;
      if (expected === null) {
        assert.throws(() => inspectToken(tok, OPTS), InvalidTokenError, JSON.stringify(signature));
      } else {
        assert.deepEqual(inspectToken(tok, OPTS).signature, expected, JSON.stringify(signature));
        accepted++;
      }
    }
    assert.ok(accepted > 300, `only ${accepted} strict segments were generated`);
  });

  it('requires the header and payload to be JSON objects in strict UTF-8', () => {
    for (const json of ['[]', 'null', '1', '"RS256"', 'true']) {
      assertRejected(rawToken(json), 'ERR_TOKEN_MALFORMED', /header must be a JSON object/);
      assertRejected(
        rawToken('{"alg":"RS256"}', json),
        'ERR_TOKEN_MALFORMED',
        /payload must be a JSON object/,
      );
    }
    assertRejected(rawToken('{alg:RS256}'), 'ERR_TOKEN_MALFORMED', /header is not valid JSON/);
    assertRejected(
      rawToken('{"alg":"RS256"}', '{"sub":"bot"'),
      'ERR_TOKEN_MALFORMED',
      /payload is not valid JSON/,
    );
    const latin1 = Buffer.from('{"sub":"Jos\xe9"}', 'latin1').toString('base64url');
    assertRejected(
      `${b64('{"alg":"RS256"}')}.${latin1}.${SIGNATURE}`,
      'ERR_TOKEN_MALFORMED',
      /not valid UTF-8/,
    );
    assertRejected(rawToken('\ufeff{"alg":"RS256"}'), 'ERR_TOKEN_MALFORMED', /header is not valid JSON/);
  });

  it('accepts UTF-8 and escaped text in claims', () => {
    const inspected = inspectToken(
      rawToken('{"alg":"RS256"}', '{"name":"Jos\\u00e9","city":"Zürich"}'),
      OPTS,
    );
    assert.deepEqual(inspected.payload, { name: 'José', city: 'Zürich' });
  });
});

describe('inspectToken: prototype tricks', () => {
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`refuses a "${key}" key in the payload, at any depth`, () => {
      assertRejected(
        rawToken('{"alg":"RS256"}', `{"${key}":{"isAdmin":true}}`),
        'ERR_TOKEN_MALFORMED',
        /reserved name/,
      );
      assertRejected(
        rawToken('{"alg":"RS256"}', `{"a":[{"${key}":1}]}`),
        'ERR_TOKEN_MALFORMED',
        /reserved name/,
      );
    });
  }

  it('refuses reserved keys spelled with \\u escapes and in the header', () => {
    assertRejected(
      rawToken('{"alg":"RS256"}', '{"\\u005f_proto__":{}}'),
      'ERR_TOKEN_MALFORMED',
      /"__proto__"/,
    );
    assertRejected(
      rawToken('{"alg":"RS256","__proto__":{"alg":"none"}}'),
      'ERR_TOKEN_MALFORMED',
      /reserved name/,
    );
  });

  it('allows the same words as values', () => {
    const inspected = inspectToken(token({ alg: 'RS256' }, { role: 'constructor', note: '__proto__' }), OPTS);
    assert.deepEqual(inspected.payload, { role: 'constructor', note: '__proto__' });
    assert.equal(Object.getPrototypeOf(inspected.payload), Object.prototype);
  });
});

describe('inspectToken: header', () => {
  it('refuses alg "none" in any case, with its own message', () => {
    for (const alg of ['none', 'NONE', 'nOnE']) {
      assertRejected(token({ alg }), 'ERR_TOKEN_ALG_NOT_ALLOWED', /Unsigned tokens/);
    }
  });

  it('refuses HMAC and unknown algorithms, and a missing or non-string alg', () => {
    for (const alg of ['HS256', 'HS512'])
      assertRejected(token({ alg }), 'ERR_TOKEN_ALG_NOT_ALLOWED', /shared secret/);
    for (const alg of ['RS1', 'rs256', 'EdDSA', '']) {
      assertRejected(token({ alg }), 'ERR_TOKEN_ALG_NOT_ALLOWED', /use RS256/);
    }
    assertRejected(token({}), 'ERR_TOKEN_MALFORMED', /no "alg"/);
    assertRejected(token({ alg: ['RS256'] }), 'ERR_TOKEN_MALFORMED', /no "alg"/);
  });

  it('accepts every supported algorithm', () => {
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']) {
      assert.equal(inspectToken(token({ alg }), OPTS).header.alg, alg);
    }
  });

  it('refuses header parameters that supply keys or change processing, saying why', () => {
    const reasons: Record<string, RegExp> = {
      jku: /URL named in the token/,
      x5u: /URL named in the token/,
      jwk: /from the token itself/,
      x5c: /from the token itself/,
      crit: /critical/,
      b64: /unencoded/,
      zip: /compressed/,
      cty: /nested/,
      enc: /encrypted/,
    };
    for (const [name, reason] of Object.entries(reasons)) {
      assertRejected(token({ alg: 'RS256', [name]: 'x' }), 'ERR_TOKEN_HEADER_NOT_ALLOWED', reason);
    }
  });

  it('refuses unknown header parameters, naming them only when plain', () => {
    assertRejected(
      token({ alg: 'RS256', foo: 1 }),
      'ERR_TOKEN_HEADER_NOT_ALLOWED',
      /parameter "foo"; only alg/,
    );
    assertRejected(
      token({ alg: 'RS256', 'a "quoted" name': 1 }),
      'ERR_TOKEN_HEADER_NOT_ALLOWED',
      /unsupported parameter; only alg/,
    );
  });

  it('requires x5t thumbprints to be strings', () => {
    assertRejected(token({ alg: 'RS256', x5t: 1 }), 'ERR_TOKEN_HEADER_NOT_ALLOWED', /"x5t" must be a string/);
  });

  it('requires kid to be a non-empty string of at most 256 characters', () => {
    assert.equal(
      inspectToken(token({ alg: 'RS256', kid: 'k'.repeat(256) }), OPTS).header.kid,
      'k'.repeat(256),
    );
    for (const kid of ['k'.repeat(257), '', 7, null, { id: 'k' }]) {
      assertRejected(token({ alg: 'RS256', kid }), 'ERR_TOKEN_HEADER_NOT_ALLOWED', /"kid" must be/);
    }
  });

  it('accepts typ JWT and at+jwt in any case, and refuses other token types', () => {
    for (const typ of ['JWT', 'jwt', 'application/jwt', 'at+jwt', 'AT+JWT', 'application/at+jwt']) {
      assert.equal(inspectToken(token({ alg: 'RS256', typ }), OPTS).header.typ, typ);
    }
    for (const typ of ['JWE', 'dpop+jwt', 'logout+jwt', 'secevent+jwt', '', 1]) {
      assertRejected(token({ alg: 'RS256', typ }), 'ERR_TOKEN_HEADER_NOT_ALLOWED', /"typ" must be/);
    }
  });
});
