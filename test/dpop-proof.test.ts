import assert from 'node:assert/strict';
import { type KeyObject, constants, createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { jwkThumbprint } from '../lib/keys/jwk-thumbprint.js';
import { type DpopProofOptions, type DpopRequest, verifyDpopProof } from '../lib/dpop/verify-proof.js';
import { DpopProofError } from '../lib/errors.js';
import { createErrorHandler } from '../lib/http/middleware/error-handler.js';

type Alg = 'ES256' | 'EdDSA' | 'RS256' | 'PS256';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl';
const URL_ = 'https://api.example.com/api/v1/tables';
const REQ: DpopRequest = { method: 'POST', htu: URL_, accessToken: TOKEN };
const OPTIONS: DpopProofOptions = { now: () => NOW_MS };

// Keys generated once per suite.
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pairs: Record<Alg, { privateKey: KeyObject; publicKey: KeyObject }> = {
  ES256: ec,
  EdDSA: ed,
  RS256: rsa,
  PS256: rsa,
};

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const ath = (token: string): string => createHash('sha256').update(token).digest('base64url');
const publicJwkOf = (key: KeyObject): Record<string, unknown> => ({ ...key.export({ format: 'jwk' }) });

function signWith(alg: string, data: Buffer, key: KeyObject): Buffer {
  switch (alg) {
    case 'ES256':
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'EdDSA':
      return sign(null, data, key);
    case 'PS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    default:
      return sign('sha256', data, key);
  }
}

interface ProofOptions {
  alg?: Alg;
  /** Header members over the defaults (`undefined` drops one). */
  header?: Record<string, unknown>;
  /** Claims over the defaults (`undefined` drops one). */
  claims?: Record<string, unknown>;
  /** Signs as this algorithm, whatever the header says. */
  signAs?: Alg;
  /** Signs with this key instead of the pair's. */
  privateKey?: KeyObject;
  /** The signature's bytes, instead of a real signature. */
  signature?: Buffer;
}

/** A DPoP proof as a client makes it, for `REQ` at `NOW`; every part overridable. */
function proof(options: ProofOptions = {}): string {
  const alg = options.alg ?? 'ES256';
  const pair = pairs[alg];
  const header = dropUndefined({ typ: 'dpop+jwt', alg, jwk: publicJwkOf(pair.publicKey), ...options.header });
  const claims = dropUndefined({
    jti: 'jti-1',
    htm: 'POST',
    htu: URL_,
    iat: NOW,
    ath: ath(TOKEN),
    ...options.claims,
  });
  const signingInput = `${b64(header)}.${b64(claims)}`;
  const signature =
    options.signature ??
    signWith(options.signAs ?? alg, Buffer.from(signingInput), options.privateKey ?? pair.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** Asserts `fn` throws a DpopProofError with this OAuth error, code and description. */
function assertRefused(
  fn: () => unknown,
  description: RegExp,
  error: 'invalid_dpop_proof' | 'use_dpop_nonce' = 'invalid_dpop_proof',
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DpopProofError, `expected a DpopProofError, got ${String(err)}`);
    assert.equal(err.error, error);
    assert.equal(err.status, 401);
    assert.equal(err.code, error === 'use_dpop_nonce' ? 'ERR_DPOP_NONCE_REQUIRED' : 'ERR_DPOP_PROOF_INVALID');
    assert.match(err.description, description);
    return true;
  });
}

const verify = (p: string, req: DpopRequest = REQ, options: DpopProofOptions = {}) =>
  verifyDpopProof(p, req, { ...OPTIONS, ...options });

describe('DPoP proofs (RFC 9449 §4.3)', function () {
  describe('valid proofs', function () {
    for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256'] as const) {
      it(`accepts ${alg} and returns the key's thumbprint, jti, iat and replay data`, function () {
        const result = verify(proof({ alg }));
        const expectedJkt = jwkThumbprint(publicJwkOf(pairs[alg].publicKey) as { kty: string });
        assert.equal(result.jkt, expectedJkt);
        assert.equal(result.jti, 'jti-1');
        assert.equal(result.iat, NOW);
        assert.equal(
          result.replayKey,
          createHash('sha256').update(`${expectedJkt}.jti-1`).digest('base64url'),
        );
        assert.equal(result.replayUntil, (NOW + 60 + 5) * 1000);
      });
    }

    it('gives different replay keys for the same jti under different keys', function () {
      assert.notEqual(verify(proof({ alg: 'ES256' })).replayKey, verify(proof({ alg: 'EdDSA' })).replayKey);
    });

    it('accepts a proof without ath when no access token comes with it (token requests)', function () {
      const result = verify(proof({ claims: { ath: undefined } }), { method: 'POST', htu: URL_ });
      assert.equal(result.jti, 'jti-1');
    });

    it('matches a request URL with a query against an htu without one', function () {
      assert.ok(verify(proof(), { ...REQ, htu: `${URL_}?limit=10#x` }));
    });

    it('normalises default ports, scheme and host case', function () {
      assert.ok(verify(proof({ claims: { htu: 'https://api.example.com:443/api/v1/tables' } })));
      assert.ok(verify(proof({ claims: { htu: 'HTTPS://API.Example.COM/api/v1/tables' } })));
      assert.ok(
        verify(proof({ claims: { htu: 'http://a.example/x' } }), { ...REQ, htu: 'http://a.example:80/x' }),
      );
    });

    it('accepts iat at both edges of the window (60 s old, 5 s ahead)', function () {
      assert.ok(verify(proof({ claims: { iat: NOW - 65 } })));
      assert.ok(verify(proof({ claims: { iat: NOW + 5 } })));
    });
  });

  describe('header', function () {
    it('refuses a typ other than dpop+jwt', function () {
      for (const typ of ['JWT', 'DPOP+JWT', 'application/dpop+jwt', undefined]) {
        assertRefused(() => verify(proof({ header: { typ } })), /"typ" must be "dpop\+jwt"/);
      }
    });

    it('refuses alg none', function () {
      const header = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwkOf(ec.publicKey) })}`;
      const payload = b64({ jti: 'j', htm: 'POST', htu: URL_, iat: NOW, ath: ath(TOKEN) });
      assertRefused(() => verify(`${header}.${payload}.AA`), /alg "none"/);
      assertRefused(() => verify(`${header}.${payload}.`), /compact form/);
    });

    it('refuses HS256 signed with the jwk as the secret', function () {
      const jwk = publicJwkOf(ec.publicKey);
      const signingInput = `${b64({ typ: 'dpop+jwt', alg: 'HS256', jwk })}.${b64({ jti: 'j', htm: 'POST', htu: URL_, iat: NOW, ath: ath(TOKEN) })}`;
      for (const secret of [JSON.stringify(jwk), Buffer.from(String(jwk.x), 'base64url')]) {
        const mac = createHmac('sha256', secret).update(signingInput).digest('base64url');
        assertRefused(() => verify(`${signingInput}.${mac}`), /shared secret/);
      }
    });

    it('refuses an alg outside a configured narrower allowlist, and advertises only that list', function () {
      assert.ok(verify(proof({ alg: 'ES256' }), REQ, { algorithms: ['ES256'] }));
      assertRefused(() => verify(proof({ alg: 'EdDSA' }), REQ, { algorithms: ['ES256'] }), /use ES256\.$/);
      assert.throws(
        () => verify(proof({ alg: 'RS256' }), REQ, { algorithms: ['ES256', 'PS256'] }),
        (err: DpopProofError) => /algs="ES256 PS256"/.test(err.headers['WWW-Authenticate'] ?? ''),
      );
      assertRefused(() => verify(proof({ header: { alg: 'ES384' } })), /"alg" is not accepted/);
    });

    it('refuses a jwk with a private member', function () {
      const privateJwk = { ...ec.privateKey.export({ format: 'jwk' }) };
      assertRefused(() => verify(proof({ header: { jwk: privateJwk } })), /private key material/);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
        const jwk = { ...publicJwkOf(ec.publicKey), [member]: 'AAAA' };
        assertRefused(() => verify(proof({ header: { jwk } })), /private key material/);
      }
    });

    it('refuses a jwk whose type or curve does not fit the alg', function () {
      // Signed with the jwk's own key, so only the type check can refuse it.
      assertRefused(
        () => verify(proof({ alg: 'RS256', header: { alg: 'ES256' }, signAs: 'RS256' })),
        /must be an EC key for ES256/,
      );
      assertRefused(
        () => verify(proof({ alg: 'ES256', header: { alg: 'EdDSA' }, signAs: 'ES256' })),
        /must be an OKP key for EdDSA/,
      );
      assertRefused(
        () => verify(proof({ alg: 'EdDSA', header: { alg: 'PS256' }, signAs: 'EdDSA' })),
        /must be an RSA key for PS256/,
      );
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      assertRefused(
        () => verify(proof({ header: { jwk: publicJwkOf(p384.publicKey) }, privateKey: p384.privateKey })),
        /curve P-256/,
      );
    });

    it('refuses an RSA key under 2048 bits', function () {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
      assertRefused(
        () =>
          verify(
            proof({
              alg: 'RS256',
              header: { jwk: publicJwkOf(small.publicKey) },
              privateKey: small.privateKey,
            }),
          ),
        /2048 to 8192 bits/,
      );
    });

    it('refuses a jwk that is missing, not an object, or not canonical', function () {
      assertRefused(() => verify(proof({ header: { jwk: undefined } })), /no "jwk" object/);
      assertRefused(() => verify(proof({ header: { jwk: [publicJwkOf(ec.publicKey)] } })), /no "jwk" object/);
      const jwk = publicJwkOf(ec.publicKey);
      const x = Buffer.concat([Buffer.from([0]), Buffer.from(String(jwk.x), 'base64url')]).toString(
        'base64url',
      );
      assertRefused(
        () => verify(proof({ header: { jwk: { ...jwk, x } } })),
        /not a valid public key|canonical/,
      );
    });

    it('refuses crit', function () {
      assertRefused(() => verify(proof({ header: { crit: ['exp'] } })), /"crit"/);
    });
  });

  describe('signature', function () {
    for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256'] as const) {
      it(`refuses a tampered payload (${alg})`, function () {
        const [header, , signature] = proof({ alg }).split('.');
        const other = proof({ alg, claims: { jti: 'jti-2' } }).split('.')[1];
        assertRefused(() => verify(`${header}.${other}.${signature}`), /signature does not verify/);
      });
    }

    it('refuses a proof signed by another key than its jwk', function () {
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      assertRefused(() => verify(proof({ privateKey: other.privateKey })), /signature does not verify/);
    });

    it('refuses RS256 signed as PS256 and a DER ECDSA signature', function () {
      assertRefused(() => verify(proof({ alg: 'RS256', signAs: 'PS256' })), /signature does not verify/);
      const der = sign('sha256', Buffer.from('x'), ec.privateKey);
      assertRefused(() => verify(proof({ signature: der })), /signature does not verify/);
    });
  });

  describe('claims', function () {
    it('refuses a method mismatch, case included', function () {
      assertRefused(() => verify(proof({ claims: { htm: 'GET' } })), /"htm" does not match/);
      assertRefused(() => verify(proof({ claims: { htm: 'get' } }), { ...REQ, method: 'GET' }), /"htm"/);
      assertRefused(() => verify(proof({ claims: { htm: undefined } })), /"htm"/);
    });

    it('refuses an htu for another path, host or scheme', function () {
      for (const htu of [
        'https://api.example.com/api/v1/users',
        'https://api.example.com/api/v1/tables/',
        'https://evil.example.com/api/v1/tables',
        'http://api.example.com/api/v1/tables',
        'https://api.example.com:8443/api/v1/tables',
      ]) {
        assertRefused(() => verify(proof({ claims: { htu } })), /"htu" does not match/);
      }
    });

    it('refuses a proof htu with a query or a fragment, even an empty one', function () {
      for (const htu of [`${URL_}?a=1`, `${URL_}#f`, `${URL_}?`, `${URL_}#`]) {
        assertRefused(
          () => verify(proof({ claims: { htu } }), { ...REQ, htu }),
          /must not contain a query or a fragment/,
        );
      }
    });

    it('refuses an htu that is not an absolute http(s) URL', function () {
      for (const htu of [
        '/api/v1/tables',
        'not a url',
        'ftp://api.example.com/x',
        'https://u:p@api.example.com/api/v1/tables',
        42,
      ]) {
        assertRefused(() => verify(proof({ claims: { htu } })), /"htu"/);
      }
      assertRefused(() => verify(proof(), { ...REQ, htu: 'garbage' }), /"htu" does not match/);
    });

    it('refuses a stale, future or non-numeric iat', function () {
      assertRefused(() => verify(proof({ claims: { iat: NOW - 66 } })), /too old/);
      assertRefused(() => verify(proof({ claims: { iat: NOW + 6 } })), /in the future/);
      for (const iat of [String(NOW), null, undefined, { n: NOW }]) {
        assertRefused(() => verify(proof({ claims: { iat } })), /"iat" must be a number/);
      }
      assertRefused(
        () => verify(proof({ claims: { iat: NOW - 20 } }), REQ, { maxAgeSeconds: 10, clockSkewSeconds: 0 }),
        /too old/,
      );
    });

    it('refuses a missing or oversized jti', function () {
      assertRefused(() => verify(proof({ claims: { jti: undefined } })), /"jti"/);
      assertRefused(() => verify(proof({ claims: { jti: '' } })), /"jti"/);
      assertRefused(() => verify(proof({ claims: { jti: 7 } })), /"jti"/);
      assertRefused(() => verify(proof({ claims: { jti: 'j'.repeat(257) } })), /"jti"/);
      assert.ok(verify(proof({ claims: { jti: 'j'.repeat(256) } })));
    });

    it('refuses an ath for another token, and a missing ath when a token comes with the proof', function () {
      assertRefused(() => verify(proof({ claims: { ath: ath(`${TOKEN}x`) } })), /"ath" does not match/);
      assertRefused(() => verify(proof({ claims: { ath: ath(TOKEN).slice(1) } })), /"ath" does not match/);
      assertRefused(() => verify(proof({ claims: { ath: undefined } })), /no "ath"/);
      assertRefused(() => verify(proof(), { ...REQ, accessToken: `${TOKEN}x` }), /"ath" does not match/);
    });
  });

  describe('nonce (RFC 9449 §8)', function () {
    const nonce = (value: string | undefined) =>
      value === undefined ? 'missing' : value === 'n-current' ? 'valid' : 'invalid';

    it('accepts the current nonce', function () {
      assert.ok(verify(proof({ claims: { nonce: 'n-current' } }), REQ, { nonce }));
    });

    it('answers a missing or stale nonce with use_dpop_nonce', function () {
      assertRefused(() => verify(proof(), REQ, { nonce }), /needs the server's nonce/, 'use_dpop_nonce');
      assertRefused(
        () => verify(proof({ claims: { nonce: 'n-old' } }), REQ, { nonce }),
        /nonce is not valid/,
        'use_dpop_nonce',
      );
      assertRefused(
        () => verify(proof({ claims: { nonce: 5 } }), REQ, { nonce }),
        /nonce is not valid/,
        'use_dpop_nonce',
      );
    });

    it('checks the nonce only for an otherwise valid proof', function () {
      assertRefused(
        () => verify(proof({ claims: { nonce: 'n-current', htm: 'GET' } }), REQ, { nonce }),
        /"htm"/,
      );
      const [header, payload] = proof().split('.');
      const [, , signature] = proof({ claims: { jti: 'other' } }).split('.');
      assertRefused(() => verify(`${header}.${payload}.${signature}`, REQ, { nonce }), /signature/);
    });
  });

  describe('malformed input', function () {
    const valid = proof();

    it('refuses garbage with the typed error only', function () {
      const [h, p, s] = valid.split('.') as [string, string, string];
      const garbage: unknown[] = [
        '',
        'a',
        'a.b',
        '..',
        'a..c',
        `${valid}.${s}`,
        ` ${valid}`,
        `${valid}\n`,
        `${valid}, ${valid}`,
        `${h}.${p}.${s}=`,
        `${h}+.${p}.${s}`,
        'x'.repeat(9000),
        `${b64([1])}.${p}.${s}`,
        `${b64('str')}.${p}.${s}`,
        `${b64(null)}.${p}.${s}`,
        `${h}.${b64([1])}.${s}`,
        `${Buffer.from([0xff, 0xfe]).toString('base64url')}.${p}.${s}`,
        `${Buffer.from('{"typ":"dpop+jwt"').toString('base64url')}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt' })}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: null })}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } })}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } })}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AA' } })}.${p}.${s}`,
        `${b64({ typ: 'dpop+jwt', alg: { toString: 1 }, __proto__: { x: 1 } })}.${p}.${s}`,
        undefined,
        null,
        42,
      ];
      for (const input of garbage) {
        assertRefused(() => verify(input as string), /./);
      }
    });

    it('refuses a proof over the size limit, and says so without echoing it', function () {
      const big = proof({ claims: { pad: 'p'.repeat(9000) } });
      assert.throws(
        () => verify(big),
        (err: DpopProofError) =>
          /largest accepted is 8192 bytes/.test(err.message) && !err.message.includes(big.slice(0, 20)),
      );
      assert.ok(verify(big, REQ, { maxBytes: 20_000 }));
    });

    it('survives random mutations of a valid proof (only the typed error, never a crash)', function () {
      let state = 12345;
      const random = (n: number) => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return state % n;
      };
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.= ';
      for (let i = 0; i < 500; i++) {
        const chars = [...valid];
        for (let k = 0; k < 1 + random(3); k++)
          chars[random(chars.length)] = alphabet[random(alphabet.length)]!;
        const mutated = chars.join('');
        if (mutated === valid) continue;
        try {
          verify(mutated);
        } catch (err) {
          assert.ok(err instanceof DpopProofError, `mutation ${i} threw ${String(err)}`);
        }
      }
    });

    it('never puts the proof or the token in the message', function () {
      const p = proof({ claims: { htm: 'GET' } });
      assert.throws(
        () => verify(p),
        (err: DpopProofError) =>
          !err.message.includes(p.slice(0, 30)) &&
          !err.message.includes(TOKEN) &&
          !JSON.stringify(err.toJSON()).includes(p.slice(0, 30)),
      );
    });

    it('rejects bad options at once, naming the option', function () {
      assert.throws(
        () => verify(proof(), REQ, { algorithms: ['HS256' as 'ES256'] }),
        /dpop algorithms: "HS256"/,
      );
      assert.throws(() => verify(proof(), REQ, { algorithms: [] }), /dpop algorithms/);
      assert.throws(() => verify(proof(), REQ, { maxAgeSeconds: 0 }), /dpop maxAgeSeconds/);
      assert.throws(() => verify(proof(), REQ, { clockSkewSeconds: -1 }), /dpop clockSkewSeconds/);
    });
  });

  describe('the error response', function () {
    const errorOf = (fn: () => unknown): DpopProofError => {
      try {
        fn();
      } catch (err) {
        if (err instanceof DpopProofError) return err;
        throw err;
      }
      throw new assert.AssertionError({ message: 'expected a DpopProofError' });
    };

    it('sends a DPoP challenge with error, description and algs', function () {
      const err = errorOf(() => verify(proof({ header: { typ: 'JWT' } })));
      assert.equal(
        err.headers['WWW-Authenticate'],
        'DPoP realm="jwt-gate", error="invalid_dpop_proof", ' +
          `error_description="The DPoP proof's 'typ' must be 'dpop+jwt'.", algs="ES256 EdDSA RS256 PS256"`,
      );
      assert.deepEqual(err.toJSON(), {
        code: 401,
        message: 'Not Authorized! The DPoP proof\'s "typ" must be "dpop+jwt".',
        errorCode: 'ERR_DPOP_PROOF_INVALID',
      });
    });

    it('sends use_dpop_nonce with a DPoP-Nonce header once the caller sets it', function () {
      const err = errorOf(() => verify(proof(), REQ, { nonce: () => 'missing' })).setNonce('n-next');
      assert.match(
        err.headers['WWW-Authenticate'] ?? '',
        /^DPoP realm="jwt-gate", error="use_dpop_nonce", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*", algs="ES256 EdDSA RS256 PS256"$/,
      );
      assert.equal(err.headers['DPoP-Nonce'], 'n-next');
      assert.equal(err.code, 'ERR_DPOP_NONCE_REQUIRED');
    });

    it('can add the Bearer challenge, realm and metadata, and renders through the error handler', async function () {
      const err = errorOf(() => verify(proof({ claims: { htm: 'GET' } })))
        .setChallenge({ alsoBearer: true })
        .setRealm('api "prod"', 'https://api.example.com/.well-known/oauth-protected-resource');
      const app = express();
      app.get('/', (_req, _res, next) => next(err));
      app.use(createErrorHandler());
      const res = await request(app).get('/');
      assert.equal(res.status, 401);
      assert.equal(
        res.headers['www-authenticate'],
        `DPoP realm="api 'prod'", error="invalid_dpop_proof", error_description="The DPoP proof's 'htm' does not match the request method.", ` +
          'algs="ES256 EdDSA RS256 PS256", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource", ' +
          `Bearer realm="api 'prod'", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`,
      );
      assert.equal(res.body.errorCode, 'ERR_DPOP_PROOF_INVALID');
    });
  });
});

describe('JWK thumbprints (RFC 7638)', function () {
  it('matches the RFC 7638 §3.1 example', function () {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('uses only the required members, in order, for EC and OKP', function () {
    const ecJwk = publicJwkOf(ec.publicKey) as Record<string, string>;
    const expected = createHash('sha256')
      .update(`{"crv":"P-256","kty":"EC","x":"${ecJwk.x}","y":"${ecJwk.y}"}`)
      .digest('base64url');
    assert.equal(jwkThumbprint({ y: ecJwk.y, x: ecJwk.x, kty: 'EC', crv: 'P-256', kid: 'k' }), expected);
    const edJwk = publicJwkOf(ed.publicKey) as Record<string, string>;
    assert.equal(
      jwkThumbprint({ x: edJwk.x!, kty: 'OKP', crv: 'Ed25519', use: 'sig' } as never),
      createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${edJwk.x}"}`).digest('base64url'),
    );
  });

  it('refuses other key types and missing members', function () {
    assert.throws(() => jwkThumbprint({ kty: 'oct' }), TypeError);
    assert.throws(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' }), /"y"/);
  });
});
