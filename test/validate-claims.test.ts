import assert from 'node:assert/strict';
import { InvalidTokenError, type JwtGateErrorCode } from '../lib/errors.js';
import { isEmailVerified, validateClaims, type ClaimsPolicy } from '../lib/verify/validate-claims.js';

const NOW = 1_700_000_000; // 2023-11-14T22:13:20Z, a frozen clock
const ISSUER = 'https://accounts.example.com';
const CLIENT_ID = 'client-123';

function policy(overrides: Partial<ClaimsPolicy> = {}): ClaimsPolicy {
  return {
    issuers: [ISSUER],
    audiences: [CLIENT_ID],
    clockToleranceSeconds: 60,
    requireExp: true,
    now: NOW,
    ...overrides,
  };
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: CLIENT_ID, sub: 'alice', iat: NOW - 10, exp: NOW + 3600, ...overrides };
}

function assertRejected(
  payload: Record<string, unknown>,
  code: JwtGateErrorCode,
  description: RegExp,
  p: ClaimsPolicy = policy(),
): void {
  assert.throws(
    () => validateClaims(payload, p),
    (err: unknown) => {
      assert.ok(err instanceof InvalidTokenError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.error, 'invalid_token');
      assert.equal(err.code, code, err.description);
      assert.match(err.description, description);
      assert.match(err.headers['WWW-Authenticate'] ?? '', /error="invalid_token"/);
      return true;
    },
  );
}

describe('validateClaims', () => {
  it('returns the payload itself, typed, when every check passes', () => {
    const payload = claims({ email: 'alice@example.com', email_verified: true, custom: [1] });
    const result = validateClaims(payload, policy());
    assert.equal(result, payload);
    assert.equal(result.iss, ISSUER);
    assert.equal(result.sub, 'alice');
  });

  describe('issuer', () => {
    it('requires iss to be one of the accepted issuers, exactly', () => {
      assertRejected(claims({ iss: undefined }), 'ERR_TOKEN_CLAIM_INVALID', /no issuer/);
      assertRejected(claims({ iss: ['x'] }), 'ERR_TOKEN_CLAIM_INVALID', /no issuer/);
      for (const iss of ['https://evil.example.com', `${ISSUER}/`, ISSUER.toUpperCase()]) {
        assertRejected(claims({ iss }), 'ERR_TOKEN_CLAIM_INVALID', /issuer \("iss"\) is not accepted/);
      }
      const p = policy({ issuers: ['other', ISSUER] });
      assert.doesNotThrow(() => validateClaims(claims(), p));
    });
  });

  describe('audience', () => {
    it('accepts a matching string or an array holding a match', () => {
      assert.doesNotThrow(() => validateClaims(claims({ aud: ['other', CLIENT_ID] }), policy()));
      assert.doesNotThrow(() => validateClaims(claims({ aud: 'b' }), policy({ audiences: ['a', 'b'] })));
    });

    it('refuses a token for another client (the reference accepted these)', () => {
      assertRejected(claims({ aud: 'another-client' }), 'ERR_TOKEN_AUDIENCE_INVALID', /another audience/);
      assertRejected(claims({ aud: ['x', 'y'] }), 'ERR_TOKEN_AUDIENCE_INVALID', /another audience/);
      assertRejected(claims({ aud: [] }), 'ERR_TOKEN_AUDIENCE_INVALID', /another audience/);
    });

    it('refuses a missing audience and audiences of the wrong type', () => {
      assertRejected(claims({ aud: undefined }), 'ERR_TOKEN_AUDIENCE_INVALID', /no audience/);
      for (const aud of [1, null, { a: CLIENT_ID }, [CLIENT_ID, 2]]) {
        assertRejected(claims({ aud }), 'ERR_TOKEN_AUDIENCE_INVALID', /string or an array of strings/);
      }
    });

    it('skips the audience check when audiences is null', () => {
      assert.doesNotThrow(() => validateClaims(claims({ aud: undefined }), policy({ audiences: null })));
      assert.doesNotThrow(() => validateClaims(claims({ aud: 'anything' }), policy({ audiences: null })));
    });
  });

  describe('time', () => {
    it('refuses an expired token, naming the expiry time, after the tolerance', () => {
      assertRejected(claims({ exp: NOW - 61 }), 'ERR_TOKEN_EXPIRED', /expired at 2023-11-14T22:12:19\.000Z/);
      assertRejected(claims({ exp: NOW - 60 }), 'ERR_TOKEN_EXPIRED', /expired at/);
      assert.doesNotThrow(() => validateClaims(claims({ exp: NOW - 59 }), policy()));
      assertRejected(
        claims({ exp: NOW }),
        'ERR_TOKEN_EXPIRED',
        /expired/,
        policy({ clockToleranceSeconds: 0 }),
      );
    });

    it('requires exp only when the policy says so', () => {
      assertRejected(claims({ exp: undefined }), 'ERR_TOKEN_CLAIM_INVALID', /no expiry/);
      assert.doesNotThrow(() => validateClaims(claims({ exp: undefined }), policy({ requireExp: false })));
    });

    it('refuses nbf and iat in the future beyond the tolerance', () => {
      assertRejected(
        claims({ nbf: NOW + 61 }),
        'ERR_TOKEN_NOT_YET_VALID',
        /not valid before 2023-11-14T22:14:21/,
      );
      assert.doesNotThrow(() => validateClaims(claims({ nbf: NOW + 60 }), policy()));
      assertRejected(claims({ iat: NOW + 61 }), 'ERR_TOKEN_NOT_YET_VALID', /issued in the future/);
      assert.doesNotThrow(() => validateClaims(claims({ iat: NOW + 60 }), policy()));
    });

    it('refuses dates that are not finite NumericDates', () => {
      for (const name of ['exp', 'nbf', 'iat']) {
        for (const value of [
          '1700003600',
          NaN,
          Infinity,
          -Infinity,
          -1,
          1e300,
          253402300800,
          null,
          true,
          [1],
        ]) {
          assertRejected(
            claims({ [name]: value }),
            'ERR_TOKEN_CLAIM_INVALID',
            new RegExp(`"${name}" must be a date`),
          );
        }
      }
      assert.doesNotThrow(() => validateClaims(claims({ exp: NOW + 0.5, iat: NOW - 0.25 }), policy()));
    });

    it('applies maxAgeSeconds to iat, and then requires iat', () => {
      const p = policy({ maxAgeSeconds: 300 });
      assert.doesNotThrow(() => validateClaims(claims({ iat: NOW - 360 }), p));
      assertRejected(claims({ iat: NOW - 361 }), 'ERR_TOKEN_EXPIRED', /more than 300 seconds ago/, p);
      assertRejected(claims({ iat: undefined }), 'ERR_TOKEN_CLAIM_INVALID', /no issue time/, p);
    });
  });

  describe('claim types', () => {
    it('requires sub, jti, email, preferred_username and tokenType to be strings', () => {
      for (const name of ['sub', 'jti', 'email', 'preferred_username', 'tokenType']) {
        for (const value of [1, null, ['x'], { a: 1 }, false]) {
          assertRejected(
            claims({ [name]: value }),
            'ERR_TOKEN_CLAIM_INVALID',
            new RegExp(`"${name}" must be a string`),
          );
        }
      }
    });

    it('requires isBot to be a boolean', () => {
      assert.doesNotThrow(() => validateClaims(claims({ isBot: true }), policy()));
      for (const isBot of ['true', 1, null]) {
        assertRejected(claims({ isBot }), 'ERR_TOKEN_CLAIM_INVALID', /"isBot" must be true or false/);
      }
    });

    it('accepts email_verified as a boolean or "true"/"false", and reads it with isEmailVerified', () => {
      const cases: Array<[unknown, boolean]> = [
        [true, true],
        ['true', true],
        [false, false],
        ['false', false],
        [undefined, false],
      ];
      for (const [value, verified] of cases) {
        assert.equal(isEmailVerified(validateClaims(claims({ email_verified: value }), policy())), verified);
      }
      for (const value of ['yes', 'TRUE', 1, null]) {
        assertRejected(
          claims({ email_verified: value }),
          'ERR_TOKEN_CLAIM_INVALID',
          /"email_verified" must be/,
        );
      }
    });
  });
});
