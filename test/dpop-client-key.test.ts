import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDpopProof, dpopKeyFromJwk, loadOrCreateDpopKey } from '../lib/client/dpop-key.js';
import { jwkThumbprint } from '../lib/keys/jwk-thumbprint.js';
import { createRequestHtu } from '../lib/dpop/request-htu.js';
import { verifyDpopProof } from '../lib/dpop/verify-proof.js';
import { ConfigError, DpopProofError } from '../lib/errors.js';

const posix = process.platform !== 'win32';

describe('the client DPoP key', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-dpop-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a P-256 private JWK file with mode 0600 on first use, and reuses it', function () {
    const file = path.join(dir, 'dpop-key.json');
    const first = loadOrCreateDpopKey(file);
    if (posix) assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(stored.kty, 'EC');
    assert.equal(stored.crv, 'P-256');
    assert.equal(typeof stored.d, 'string');
    assert.deepEqual(first.publicJwk, { kty: 'EC', crv: 'P-256', x: stored.x, y: stored.y });
    assert.equal(first.jkt, jwkThumbprint(first.publicJwk));
    const second = loadOrCreateDpopKey(file);
    assert.equal(second.jkt, first.jkt);
    assert.deepEqual(
      readFileSync(file, 'utf8'),
      JSON.stringify(stored, null, 2) + '\n',
      'the file is not rewritten',
    );
    assert.deepEqual(readdirSync(dir).sort(), ['dpop-key.json'], 'no temporary file is left behind');
  });

  it('refuses a key file readable by group or others, naming the file and the fix', function () {
    if (!posix) this.skip();
    const file = path.join(dir, 'dpop-key.json');
    loadOrCreateDpopKey(file);
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(file, mode);
      assert.throws(
        () => loadOrCreateDpopKey(file),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.code === 'ERR_KEY_INVALID' &&
          err.message.includes(file) &&
          err.message.includes(`chmod 600 ${file}`),
      );
    }
    chmodSync(file, 0o400);
    assert.ok(loadOrCreateDpopKey(file), 'owner-only read is fine');
  });

  it('refuses a key file that is not a P-256 private JWK', function () {
    const file = path.join(dir, 'dpop-key.json');
    writeFileSync(file, 'not json', { mode: 0o600 });
    assert.throws(() => loadOrCreateDpopKey(file), /not JSON/);
    writeFileSync(file, JSON.stringify({ kty: 'RSA' }), { mode: 0o600 });
    assert.throws(() => loadOrCreateDpopKey(file), /P-256 private JWK/);
    assert.throws(() => dpopKeyFromJwk({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', d: 'AA' }), ConfigError);
  });

  it('makes proofs that verifyDpopProof accepts, with ath and nonce (round trip)', function () {
    const key = loadOrCreateDpopKey(path.join(dir, 'dpop-key.json'));
    const now = 1_800_000_000_000;
    const proof = createDpopProof(key, {
      method: 'POST',
      url: 'https://API.example.com:443/api/v1/tables?x=1#f',
      accessToken: 'the-token',
      nonce: 'n-1',
      now,
    });
    const [header, payload] = proof
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    assert.deepEqual(header, { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk });
    assert.equal(payload.htu, 'https://api.example.com/api/v1/tables');
    assert.equal(payload.iat, now / 1000);
    const verified = verifyDpopProof(
      proof,
      { method: 'POST', htu: 'https://api.example.com/api/v1/tables', accessToken: 'the-token' },
      { now: () => now, nonce: (value) => (value === 'n-1' ? 'valid' : 'invalid') },
    );
    assert.equal(verified.jkt, key.jkt);
    const again = createDpopProof(key, { method: 'POST', url: 'https://api.example.com/api/v1/tables', now });
    const againJti = JSON.parse(Buffer.from(again.split('.')[1]!, 'base64url').toString()).jti;
    assert.notEqual(againJti, payload.jti, 'a fresh jti each time');
  });

  it('a proof made for another host fails at a server with externalOrigin, whatever its Host header says', function () {
    const key = dpopKeyFromJwk(JSON.parse(readFileSync(pathOfNewKey(dir), 'utf8')));
    const proof = createDpopProof(key, { method: 'GET', url: 'https://other.example.net/api/v1/tables' });
    const htuOf = createRequestHtu({ externalOrigin: 'https://api.example.com' });
    const htu = htuOf({
      originalUrl: '/api/v1/tables',
      headers: { host: 'other.example.net' },
      socket: { remoteAddress: '203.0.113.9', encrypted: true },
    });
    assert.throws(
      () => verifyDpopProof(proof, { method: 'GET', htu }),
      (err: unknown) => err instanceof DpopProofError && /"htu" does not match/.test(err.description),
    );
  });
});

function pathOfNewKey(dir: string): string {
  const file = path.join(dir, 'k.json');
  loadOrCreateDpopKey(file);
  return file;
}
