import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, sign, verify } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import type { ConfigProvenance, JwtTokenConfiguration } from '../lib/config/types.js';
import { ConfigError } from '../lib/errors.js';
import { generateKeyFiles, jwkThumbprint, loadKeySet, publicJwk, publicJwks } from '../lib/keys/index.js';
import type { GeneratedKeyFiles, KeySet } from '../lib/keys/index.js';

const openssl = (...args: string[]): Buffer =>
  execFileSync('/usr/bin/openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** A jwtTokenConfiguration with no key set: each test names its keys. */
function tokenConfig(keys: Partial<JwtTokenConfiguration>): JwtTokenConfiguration {
  return {
    jwtissuer: 'open-metadata.org',
    keyId: 'kid-1',
    algorithm: 'RS256',
    audience: 'jwt-gate',
    additionalPublicKeys: [],
    ...keys,
  };
}

/** What the config loader passes: names the env var that fed a field. */
const provenance: ConfigProvenance = {
  describe: (path) =>
    ({
      'jwtTokenConfiguration.rsaprivateKeyFilePath': `${path} (from RSA_PRIVATE_KEY_FILE_PATH)`,
      'jwtTokenConfiguration.rsaprivateKey': `${path} (from RSA_PRIVATE_KEY)`,
    })[path] ?? path,
};

/** Asserts a ConfigError ERR_KEY_INVALID whose message matches every pattern. */
function keyInvalid(...patterns: Array<RegExp | string>): (err: unknown) => true {
  return (err) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_KEY_INVALID');
    for (const p of patterns) {
      if (typeof p === 'string')
        assert.ok(err.message.includes(p), `${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
      else assert.match(err.message, p);
    }
    return true;
  };
}

function signsAndVerifies(keys: KeySet): void {
  const data = Buffer.from('payload');
  const signature = sign('sha256', data, keys.signing.privateKey);
  assert.ok(verify('sha256', data, keys.published[0]!.publicKey, signature));
}

describe('lib/keys', function () {
  let dir: string; // the openssl-made key pair (the reference's openssl commands, example-app/README.md) and variants of it
  let generated: GeneratedKeyFiles; // a second key pair, made by generateKeyFiles
  const at = (name: string): string => join(dir, name);
  const b64 = (name: string): string => readFileSync(at(name)).toString('base64');

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-keys-'));
    openssl('genrsa', '-out', at('private_key.pem'), '2048');
    openssl(
      'pkcs8',
      '-topk8',
      '-inform',
      'PEM',
      '-outform',
      'DER',
      '-in',
      at('private_key.pem'),
      '-out',
      at('private_key.der'),
      '-nocrypt',
    );
    openssl('rsa', '-in', at('private_key.pem'), '-pubout', '-outform', 'DER', '-out', at('public_key.der'));
    openssl('rsa', '-in', at('private_key.pem'), '-traditional', '-out', at('pkcs1.pem'));
    openssl('rsa', '-in', at('private_key.pem'), '-pubout', '-out', at('public_spki.pem'));
    openssl('rsa', '-in', at('private_key.pem'), '-RSAPublicKey_out', '-out', at('public_pkcs1.pem'));
    openssl(
      'pkcs8',
      '-topk8',
      '-in',
      at('private_key.pem'),
      '-outform',
      'DER',
      '-out',
      at('encrypted.der'),
      '-passout',
      'pass:x',
    );
    openssl(
      'pkcs8',
      '-topk8',
      '-in',
      at('private_key.pem'),
      '-out',
      at('encrypted.pem'),
      '-passout',
      'pass:x',
    );
    openssl(
      'rsa',
      '-in',
      at('private_key.pem'),
      '-traditional',
      '-aes256',
      '-passout',
      'pass:x',
      '-out',
      at('encrypted_pkcs1.pem'),
    );
    openssl('genrsa', '-out', at('small.pem'), '1024');
    openssl('rsa', '-in', at('small.pem'), '-pubout', '-outform', 'DER', '-out', at('small_public.der'));
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at('ec.pem'));
    openssl('pkcs8', '-topk8', '-nocrypt', '-in', at('ec.pem'), '-outform', 'DER', '-out', at('ec.der'));
    writeFileSync(at('garbage.der'), 'this is not a key\n', { mode: 0o600 });
    generated = await generateKeyFiles(join(dir, 'generated'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('loadKeySet', function () {
    it('loads the PKCS#8 DER and SPKI DER files of the openssl commands, resolving paths against baseDir', function () {
      const keys = loadKeySet(
        tokenConfig({ rsaprivateKeyFilePath: 'private_key.der', rsapublicKeyFilePath: './public_key.der' }),
        {
          baseDir: dir,
        },
      );
      assert.equal(keys.signing.kid, 'kid-1');
      assert.equal(keys.signing.alg, 'RS256');
      assert.equal(keys.signing.privateKey.type, 'private');
      assert.deepEqual(
        keys.published.map((k) => k.kid),
        ['kid-1'],
      );
      assert.equal(keys.byKid.get('kid-1'), keys.published[0]);
      assert.equal(
        'privateKey' in keys.published[0]!,
        false,
        'published keys must not carry the private key',
      );
      assert.deepEqual(
        keys.published[0]!.publicKey.export({ type: 'spki', format: 'der' }),
        readFileSync(at('public_key.der')),
      );
      signsAndVerifies(keys);
    });

    it('loads the PEM of `openssl genrsa` alone, deriving the public key', function () {
      const keys = loadKeySet(tokenConfig({ rsaprivateKeyFilePath: at('private_key.pem') }), {
        baseDir: '/',
      });
      assert.deepEqual(
        keys.signing.publicKey.export({ type: 'spki', format: 'der' }),
        readFileSync(at('public_key.der')),
      );
    });

    it('loads PEM PKCS#1 private keys and PEM SPKI / PKCS#1 public keys, whatever the file extension', function () {
      copyFileSync(at('pkcs1.pem'), at('pkcs1-named.der'));
      for (const publicFile of ['public_spki.pem', 'public_pkcs1.pem']) {
        const keys = loadKeySet(
          tokenConfig({ rsaprivateKeyFilePath: 'pkcs1-named.der', rsapublicKeyFilePath: publicFile }),
          {
            baseDir: dir,
          },
        );
        signsAndVerifies(keys);
      }
    });

    it('loads inline values (PEM text, PEM with literal \\n, base64 of DER, base64 of PEM); inline wins over the path', function () {
      const pemText = readFileSync(at('pkcs1.pem'), 'utf8');
      const inlines = [
        pemText,
        pemText.trim().replace(/\n/g, '\\n'),
        b64('private_key.der'),
        b64('private_key.pem'),
      ];
      for (const rsaprivateKey of inlines) {
        const keys = loadKeySet(
          tokenConfig({
            rsaprivateKey,
            rsaprivateKeyFilePath: 'missing.der',
            rsapublicKey: b64('public_key.der'),
          }),
          { baseDir: dir },
        );
        assert.deepEqual(
          keys.signing.publicKey.export({ type: 'spki', format: 'der' }),
          readFileSync(at('public_key.der')),
        );
      }
    });

    it('treats an empty inline value as not set', function () {
      const keys = loadKeySet(
        tokenConfig({ rsaprivateKey: '', rsaprivateKeyFilePath: 'private_key.der', rsapublicKey: '' }),
        {
          baseDir: dir,
        },
      );
      signsAndVerifies(keys);
    });

    it('publishes additionalPublicKeys after the signing key, with their own kid and alg', function () {
      const keys = loadKeySet(
        tokenConfig({
          rsaprivateKeyFilePath: 'private_key.der',
          additionalPublicKeys: [
            { keyId: 'old-1', publicKeyFilePath: generated.publicKeyDer },
            { keyId: 'old-2', publicKey: readFileSync(at('public_spki.pem'), 'utf8'), algorithm: 'RS512' },
          ],
        }),
        { baseDir: dir },
      );
      assert.deepEqual(
        keys.published.map((k) => [k.kid, k.alg]),
        [
          ['kid-1', 'RS256'],
          ['old-1', 'RS256'],
          ['old-2', 'RS512'],
        ],
      );
      assert.deepEqual(
        keys.byKid.get('old-1')!.publicKey.export({ type: 'spki', format: 'der' }),
        readFileSync(generated.publicKeyDer),
      );
    });

    it('refuses a missing file, naming the field (and its env var) and how to generate keys', function () {
      assert.throws(
        () =>
          loadKeySet(tokenConfig({ rsaprivateKeyFilePath: './conf/private_key.der' }), {
            baseDir: dir,
            provenance,
          }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKeyFilePath (from RSA_PRIVATE_KEY_FILE_PATH)',
          `no such file ${join(dir, 'conf/private_key.der')}`,
          'jwt-gate keys generate --out DIR',
          'openssl pkcs8 -topk8',
        ),
      );
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({ rsaprivateKeyFilePath: 'private_key.der', rsapublicKeyFilePath: 'nope.der' }),
            { baseDir: dir },
          ),
        keyInvalid(/^jwtTokenConfiguration\.rsapublicKeyFilePath: no such file/),
      );
    });

    it('refuses a private key that is not configured at all', function () {
      assert.throws(
        () => loadKeySet(tokenConfig({}), { baseDir: dir, provenance }),
        keyInvalid(
          'rsaprivateKeyFilePath (from RSA_PRIVATE_KEY_FILE_PATH): is not set',
          'RSA_PRIVATE_KEY',
          'jwt-gate keys generate',
        ),
      );
    });

    it('refuses an unreadable key file', function () {
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: dir }), { baseDir: dir }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKeyFilePath',
          'is a directory',
          'point rsaprivateKeyFilePath at the key file',
        ),
      );
      if (process.getuid?.() === 0) return; // root reads any file; the mode case below needs a non-root user
      const locked = at('locked.der');
      copyFileSync(at('private_key.der'), locked);
      chmodSync(locked, 0o000);
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: locked }), { baseDir: dir }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKeyFilePath',
          'permission denied',
          'readable by the user running the server',
        ),
      );
    });

    it('refuses a private key file readable by group or others, unless checkFileMode is false', function () {
      if (process.platform === 'win32') this.skip();
      const open = at('open.der');
      copyFileSync(at('private_key.der'), open);
      chmodSync(open, 0o644);
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: open }), { baseDir: dir }),
        keyInvalid('jwtTokenConfiguration.rsaprivateKeyFilePath', 'mode 0644', `run \`chmod 600 ${open}\``),
      );
      chmodSync(open, 0o640);
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: open }), { baseDir: dir }),
        keyInvalid('chmod 600'),
      );
      signsAndVerifies(
        loadKeySet(tokenConfig({ rsaprivateKeyFilePath: open }), { baseDir: dir, checkFileMode: false }),
      );
    });

    it('refuses a key that is not RSA', function () {
      for (const file of ['ec.der', 'ec.pem']) {
        assert.throws(
          () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: file }), { baseDir: dir }),
          keyInvalid(
            'jwtTokenConfiguration.rsaprivateKeyFilePath',
            'holds a ec key, not an RSA key',
            'jwt-gate keys generate',
          ),
        );
      }
    });

    it('refuses RSA keys under 2048 bits', function () {
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: 'small.pem' }), { baseDir: dir }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKeyFilePath',
          '1024-bit RSA key; at least 2048 bits',
          'jwt-gate keys generate',
        ),
      );
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({
              rsaprivateKeyFilePath: 'private_key.der',
              additionalPublicKeys: [{ keyId: 'old', publicKeyFilePath: 'small_public.der' }],
            }),
            { baseDir: dir },
          ),
        keyInvalid(
          'jwtTokenConfiguration.additionalPublicKeys[0].publicKeyFilePath',
          '1024-bit',
          'remove entry 0 of additionalPublicKeys',
        ),
      );
    });

    it('refuses a public key that does not match the private key', function () {
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({
              rsaprivateKeyFilePath: 'private_key.der',
              rsapublicKeyFilePath: generated.publicKeyDer,
            }),
            { baseDir: dir },
          ),
        keyInvalid(
          'jwtTokenConfiguration.rsapublicKeyFilePath',
          'does not belong to the private key',
          'point both at the same key pair',
        ),
      );
    });

    it('refuses garbage, in a file or inline', function () {
      assert.throws(
        () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: 'garbage.der' }), { baseDir: dir }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKeyFilePath',
          'is not a key jwt-gate can read',
          'PKCS#8 DER',
        ),
      );
      assert.throws(
        () =>
          loadKeySet(tokenConfig({ rsaprivateKey: './conf/private_key.der' }), { baseDir: dir, provenance }),
        keyInvalid(
          'jwtTokenConfiguration.rsaprivateKey (from RSA_PRIVATE_KEY)',
          'a file path goes in rsaprivateKeyFilePath',
        ),
      );
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({
              rsaprivateKeyFilePath: 'private_key.der',
              rsapublicKey: Buffer.from('nope').toString('base64'),
            }),
            { baseDir: dir },
          ),
        keyInvalid('jwtTokenConfiguration.rsapublicKey', 'SPKI DER'),
      );
    });

    it('refuses encrypted private keys, pointing at -nocrypt', function () {
      for (const file of ['encrypted.der', 'encrypted.pem', 'encrypted_pkcs1.pem']) {
        assert.throws(
          () => loadKeySet(tokenConfig({ rsaprivateKeyFilePath: file }), { baseDir: dir }),
          keyInvalid('jwtTokenConfiguration.rsaprivateKeyFilePath', 'encrypted private key', '-nocrypt'),
        );
      }
    });

    it('refuses a public key in the private-key field and a private key in the public-key field', function () {
      assert.throws(
        () =>
          loadKeySet(tokenConfig({ rsaprivateKeyFilePath: 'public_key.der' }), {
            baseDir: dir,
            checkFileMode: false,
          }),
        keyInvalid('jwtTokenConfiguration.rsaprivateKeyFilePath', 'holds a public key, not a private key'),
      );
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({
              rsaprivateKeyFilePath: 'private_key.der',
              rsapublicKeyFilePath: 'private_key.der',
            }),
            { baseDir: dir },
          ),
        keyInvalid('jwtTokenConfiguration.rsapublicKeyFilePath', 'holds a private key', 'use public_key.der'),
      );
    });

    it('refuses duplicate kids among additionalPublicKeys and the signing key', function () {
      const load = (kids: string[]): KeySet =>
        loadKeySet(
          tokenConfig({
            rsaprivateKeyFilePath: 'private_key.der',
            additionalPublicKeys: kids.map((keyId) => ({ keyId, publicKeyFilePath: generated.publicKeyDer })),
          }),
          { baseDir: dir },
        );
      assert.throws(
        () => load(['old', 'old']),
        keyInvalid('jwtTokenConfiguration.additionalPublicKeys[1].keyId', '"old" is already used', 'own kid'),
      );
      assert.throws(
        () => load(['kid-1']),
        keyInvalid('additionalPublicKeys[0].keyId', 'already used by jwtTokenConfiguration.keyId'),
      );
      assert.throws(() => load(['']), keyInvalid('additionalPublicKeys[0].keyId', 'is empty'));
    });

    it('refuses an empty keyId and an additional key without key material', function () {
      assert.throws(
        () =>
          loadKeySet(tokenConfig({ keyId: '', rsaprivateKeyFilePath: 'private_key.der' }), { baseDir: dir }),
        keyInvalid('jwtTokenConfiguration.keyId: is empty'),
      );
      assert.throws(
        () =>
          loadKeySet(
            tokenConfig({
              rsaprivateKeyFilePath: 'private_key.der',
              additionalPublicKeys: [{ keyId: 'old', publicKey: '' }],
            }),
            { baseDir: dir },
          ),
        keyInvalid(
          'jwtTokenConfiguration.additionalPublicKeys[0].publicKeyFilePath: is not set',
          'kid "old"',
          'remove the entry',
        ),
      );
    });
  });

  describe('publicJwk and jwkThumbprint', function () {
    let keys: KeySet;
    before(function () {
      keys = loadKeySet(tokenConfig({ rsaprivateKeyFilePath: 'private_key.der' }), { baseDir: dir });
    });

    it('exports only public members, in order, with minimal unpadded base64url n and e', function () {
      const jwk = publicJwk(keys.published[0]!);
      assert.deepEqual(Object.keys(jwk), ['kty', 'kid', 'use', 'alg', 'n', 'e']);
      assert.deepEqual(
        { ...jwk, n: 'n' },
        { kty: 'RSA', kid: 'kid-1', use: 'sig', alg: 'RS256', n: 'n', e: 'AQAB' },
      );
      assert.match(jwk.n, /^[A-Za-z0-9_-]+$/);
      // A 2048-bit modulus has its high bit set: a sign-preserving encoder would prepend 0x00.
      const modulus = Buffer.from(jwk.n, 'base64url');
      assert.equal(modulus.length, 256);
      assert.ok(modulus[0]! >= 0x80);
      const opensslModulus = openssl(
        'rsa',
        '-pubin',
        '-inform',
        'DER',
        '-in',
        at('public_key.der'),
        '-noout',
        '-modulus',
      )
        .toString()
        .trim();
      assert.equal(opensslModulus, `Modulus=${modulus.toString('hex').toUpperCase()}`);
    });

    it('verifies our signatures in an independent verifier (jose) and matches its RFC 7638 thumbprint', async function () {
      const jwk = publicJwk(keys.published[0]!);
      const token = await new SignJWT({ sub: 'ingestion-bot' })
        .setProtectedHeader({ alg: 'RS256', kid: 'kid-1' })
        .sign(keys.signing.privateKey);
      const { payload } = await jwtVerify(token, await importJWK(jwk, 'RS256'));
      assert.equal(payload.sub, 'ingestion-bot');
      assert.equal(jwkThumbprint(keys.published[0]!), await calculateJwkThumbprint(jwk, 'sha256'));
      assert.equal(jwkThumbprint(keys.signing.publicKey), jwkThumbprint(keys.published[0]!));
      assert.deepEqual(publicJwks(keys.published), { keys: [jwk] });
    });
  });

  describe('generateKeyFiles', function () {
    it('writes files openssl reads, byte-identical to what the openssl commands derive from the PEM', function () {
      openssl('pkcs8', '-inform', 'DER', '-nocrypt', '-in', generated.privateKeyDer);
      openssl('rsa', '-pubin', '-inform', 'DER', '-in', generated.publicKeyDer, '-noout');
      assert.match(
        openssl('rsa', '-in', generated.privateKeyPem, '-check', '-noout').toString(),
        /RSA key ok/,
      );
      const pem = generated.privateKeyPem;
      const derived = openssl('pkcs8', '-topk8', '-inform', 'PEM', '-outform', 'DER', '-in', pem, '-nocrypt');
      assert.deepEqual(readFileSync(generated.privateKeyDer), derived);
      assert.deepEqual(
        readFileSync(generated.publicKeyDer),
        openssl('rsa', '-in', pem, '-pubout', '-outform', 'DER'),
      );
      // The PEM is in the form this machine's `openssl genrsa` writes.
      const firstLine = (file: string): string => readFileSync(file, 'utf8').split('\n')[0]!;
      assert.equal(firstLine(pem), firstLine(at('private_key.pem')));
    });

    it('signs with the private key so that `openssl dgst -verify` accepts it with the public key', function () {
      const keys = loadKeySet(
        tokenConfig({
          rsaprivateKeyFilePath: generated.privateKeyDer,
          rsapublicKeyFilePath: generated.publicKeyDer,
        }),
        { baseDir: '/' },
      );
      const data = join(dir, 'data.txt');
      writeFileSync(data, 'bot token payload');
      writeFileSync(join(dir, 'data.sig'), sign('sha256', readFileSync(data), keys.signing.privateKey));
      const out = openssl(
        'dgst',
        '-sha256',
        '-verify',
        generated.publicKeyDer,
        '-keyform',
        'DER',
        '-signature',
        join(dir, 'data.sig'),
        data,
      );
      assert.match(out.toString(), /Verified OK/);
      assert.deepEqual(
        createPublicKey(keys.signing.privateKey).export({ type: 'spki', format: 'der' }),
        readFileSync(generated.publicKeyDer),
      );
    });

    it('creates private files with mode 0600 and a missing directory with mode 0700', function () {
      if (process.platform === 'win32') this.skip();
      assert.equal(statSync(generated.privateKeyDer).mode & 0o777, 0o600);
      assert.equal(statSync(generated.privateKeyPem).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'generated')).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(join(dir, 'generated')).sort(), [
        'private_key.der',
        'private_key.pem',
        'public_key.der',
      ]);
    });

    it('refuses to overwrite existing key files unless force is set', async function () {
      const target = join(dir, 'overwrite');
      mkdirSync(target);
      writeFileSync(join(target, 'public_key.der'), 'keep me', { mode: 0o644 });
      await assert.rejects(generateKeyFiles(target), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /public_key\.der already exists: .*--force/);
        return true;
      });
      assert.deepEqual(readdirSync(target), ['public_key.der'], 'nothing written next to the existing file');
      assert.equal(readFileSync(join(target, 'public_key.der'), 'utf8'), 'keep me');

      writeFileSync(join(target, 'private_key.der'), 'old', { mode: 0o644 });
      const files = await generateKeyFiles(target, { force: true });
      assert.deepEqual(readdirSync(target).sort(), ['private_key.der', 'private_key.pem', 'public_key.der']);
      assert.equal(
        statSync(files.privateKeyDer).mode & 0o777,
        0o600,
        'a replaced private key file is 0600 too',
      );
      signsAndVerifies(
        loadKeySet(
          tokenConfig({
            rsaprivateKeyFilePath: files.privateKeyDer,
            rsapublicKeyFilePath: files.publicKeyDer,
          }),
          { baseDir: '/' },
        ),
      );
    });

    it('refuses key sizes under 2048 bits', async function () {
      await assert.rejects(
        generateKeyFiles(join(dir, 'small'), { bits: 1024 }),
        /bits: 1024 is not a supported RSA key size: use an integer from 2048/,
      );
    });
  });
});
