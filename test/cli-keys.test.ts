import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertOneLineError, runCli, runMain } from './support/cli.js';
import { loadKeySet } from '../lib/keys/index.js';

describe('jwt-gate keys generate', function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'jwt-gate-cli-keys-'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the three key files, prints their paths and YAML that loads them, and exits 0', async function () {
    const out = join(dir, 'conf');
    const result = await runCli(['keys', 'generate', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    for (const name of ['private_key.pem', 'private_key.der', 'public_key.der'])
      assert.ok(result.stdout.includes(join(out, name)), name);
    assert.deepEqual(readdirSync(out).sort(), ['private_key.der', 'private_key.pem', 'public_key.der']);
    assert.equal(statSync(join(out, 'private_key.der')).mode & 0o777, 0o600);

    // The printed YAML block is what a user pastes into their config: it must load as is.
    const yamlBlock = result.stdout.slice(result.stdout.indexOf('jwtTokenConfiguration:'));
    const { jwtTokenConfiguration } = parse(yamlBlock) as { jwtTokenConfiguration: Record<string, string> };
    assert.deepEqual(jwtTokenConfiguration, {
      rsapublicKeyFilePath: join(out, 'public_key.der'),
      rsaprivateKeyFilePath: join(out, 'private_key.der'),
    });
    const keys = loadKeySet(
      {
        jwtissuer: 'open-metadata.org',
        keyId: 'k',
        algorithm: 'RS256',
        audience: 'jwt-gate',
        additionalPublicKeys: [],
        ...jwtTokenConfiguration,
      },
      { baseDir: dir },
    );
    assert.equal(keys.signing.privateKey.asymmetricKeyDetails?.modulusLength, 2048);

    // Existing keys are never replaced silently: one line on stderr, exit 1, files untouched.
    const before = readFileSync(join(out, 'private_key.der'));
    assertOneLineError(
      await runCli(['keys', 'generate', '--out', out]),
      /^jwt-gate: .*private_key\.pem already exists: .*--force/,
    );
    assert.deepEqual(readFileSync(join(out, 'private_key.der')), before);
  });

  it('replaces existing keys with --force and honours --bits', async function () {
    const out = join(dir, 'force');
    assert.equal((await runMain('keys', 'generate', '--out', out)).code, 0);
    const first = readFileSync(join(out, 'private_key.der'));
    const result = await runMain('keys', 'generate', '--out', out, '--force', '--bits', '3072');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /3072-bit RSA key pair/);
    assert.notDeepEqual(readFileSync(join(out, 'private_key.der')), first);
    const keys = loadKeySet(
      {
        jwtissuer: 'i',
        keyId: 'k',
        algorithm: 'RS256',
        audience: 'a',
        additionalPublicKeys: [],
        rsaprivateKeyFilePath: 'private_key.der',
      },
      { baseDir: out },
    );
    assert.equal(keys.signing.privateKey.asymmetricKeyDetails?.modulusLength, 3072);
  });

  it('rejects bad arguments with one line and exit 1', async function () {
    assertOneLineError(
      await runMain('keys', 'generate', '--out', join(dir, 'small'), '--bits', '1024'),
      /--bits.*1024.*2048 to 16384/,
    );
    assertOneLineError(
      await runMain('keys', 'generate', '--out', join(dir, 'x'), '--bits', '2048.5'),
      /--bits/,
    );
    assertOneLineError(await runMain('keys', 'generate'), /required option '--out <dir>'/);
    assert.equal(readdirSync(dir).includes('small'), false, 'nothing written on a refused command');
  });

  it('prints help for --help and exits 0', async function () {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Usage: jwt-gate/);
    assert.match(top.stdout, /keys\s+manage the RSA key pair/);
    const sub = await runMain('keys', 'generate', '--help');
    assert.equal(sub.code, 0);
    for (const option of ['--out <dir>', '--bits <n>', '--force'])
      assert.ok(sub.stdout.includes(option), option);
  });
});
