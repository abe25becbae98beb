import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/**
 * The built package, installed the way a user's app sees it (node_modules/jwt-gate), used from an
 * ESM and from a CommonJS Express app: both mint a token, serve the JWKS and protect a route.
 */
describe('package: ESM and CommonJS consumers', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    if (
      !existsSync(path.join(root, 'dist/esm/index.js')) ||
      !existsSync(path.join(root, 'dist/cjs/index.js'))
    ) {
      execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
    }
    dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-pkg-'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules', 'jwt-gate'), 'dir');
    // The user's own dependencies resolve from the repo's node_modules.
    for (const dep of ['express', 'supertest']) {
      symlinkSync(path.join(root, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'dir');
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const body = (load: string) => `
${load}
const { generateKeyPairSync } = require_('node:crypto');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
(async () => {
  const gate = await createJwtGate({
    jwtTokenConfiguration: { rsaprivateKey: pem, jwtissuer: 'pkg-test', keyId: 'k1' },
    authenticationConfiguration: { provider: 'custom-oidc', publicKeyUrls: [] },
    database: { url: 'memory:' },
  });
  const app = express();
  app.use(gate.publicRouter);
  app.use(gate.authenticate);
  app.get('/api/v1/tables', (req, res) => res.json({ user: req.user.name }));
  app.use(gate.errorHandler);
  const token = gate.mintToken({ subject: 'jane', email: 'jane@x.org', isBot: false, tokenType: 'PERSONAL_ACCESS', expiry: '1' }).token;
  const jwks = await request(app).get('/api/v1/config/jwks');
  const ok = await request(app).get('/api/v1/tables').set('Authorization', 'Bearer ' + token);
  const denied = await request(app).get('/api/v1/tables');
  console.log(JSON.stringify({ kid: jwks.body.keys[0].kid, ok: ok.status, user: ok.body.user, denied: denied.status, isConfigError: typeof ConfigError === 'function' }));
  await gate.close();
})().catch((e) => { console.error(e); process.exit(1); });
`;

  function run(file: string, source: string): Record<string, unknown> {
    writeFileSync(path.join(dir, file), source);
    const out = execFileSync(process.execPath, [path.join(dir, file)], { cwd: dir, encoding: 'utf8' });
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
  }

  const expected = { kid: 'k1', ok: 200, user: 'jane', denied: 401, isConfigError: true };

  it('works from an ESM app (import)', function () {
    const result = run(
      'app.mjs',
      body(`import { createJwtGate, ConfigError } from 'jwt-gate';
import express from 'express';
import request from 'supertest';
import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);`),
    );
    assert.deepEqual(result, expected);
  });

  it('works from a CommonJS app (require)', function () {
    const result = run(
      'app.cjs',
      body(`const { createJwtGate, ConfigError } = require('jwt-gate');
const express = require('express');
const request = require('supertest');
const require_ = require;`),
    );
    assert.deepEqual(result, expected);
  });

  it('ships type declarations for both entry points', function () {
    assert.ok(existsSync(path.join(root, 'dist/esm/index.d.ts')));
    assert.ok(existsSync(path.join(root, 'dist/cjs/index.d.ts')));
  });
});
