import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JwksServer, publicJwk, startJwksServer } from './support/jwks-server.js';
import {
  type CommandResult,
  type Stock,
  addedSince,
  childEnv,
  packFromCopy,
  runCommand,
  takeStock,
} from './support/scratch-app.js';
import { rsaPair, signJwt } from './support/tokens.js';

const root = path.resolve(import.meta.dirname, '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

/** Issue 17 §6: what installing the packed jwt-gate into a bare Express app for SSO verification may add. */
const MAX_ADDED_BYTES = 15_000_000;
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];
const ISSUER = 'https://idp.example.org';
const AUDIENCE = 'my-api';

/**
 * The tarball `npm pack` makes (with its `prepack` build), installed into a scratch app that has
 * only Express — once Express 4, once Express 5 — and used the ways a user would: from ESM, from
 * CommonJS, and from TypeScript (the README's snippet, type-checked against our .d.ts files).
 */
describe('package: the packed tarball in a bare Express app', function () {
  this.timeout(240_000);
  const idpKey = rsaPair('packaging-idp');
  let dir: string;
  let tarball: string;
  let idp: JwksServer;
  let token: string;

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-packaging-'));
    tarball = await packFromCopy(root, dir);
    idp = await startJwksServer({
      keys: { keys: [publicJwk(idpKey.publicKey, { kid: 'idp-1', alg: 'RS256', use: 'sig' })] },
    });
    token = signJwt({
      header: { kid: 'idp-1' },
      payload: { iss: ISSUER, aud: AUDIENCE, sub: 'u-1', email: 'jane@example.org' },
      key: idpKey.privateKey,
    });
  });
  after(async function () {
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const express of [4, 5] as const) {
    describe(`with Express ${express}`, function () {
      let app: string;
      let baseline: Stock;
      let installed: Stock;

      // In a hook, not an `it`: every test below needs the installed app.
      before(async function () {
        app = path.join(dir, `express${express}`);
        mkdirSync(app);
        writeJson(path.join(app, 'package.json'), {
          name: `scratch-express${express}`,
          private: true,
          type: 'module',
        });
        const base = await npm(app, ['install', `express@${express}`, `@types/express@${express}`]);
        assert.equal(base.status, 0, registryHint(base));
        const version = readJson(path.join(app, 'node_modules/express/package.json')).version;
        assert.ok(version.startsWith(`${express}.`), `express@${express} installed ${version}`);
        baseline = takeStock(path.join(app, 'node_modules'));
        const install = await npm(app, ['install', tarball]);
        assert.equal(install.status, 0, registryHint(install));
        installed = takeStock(path.join(app, 'node_modules'));
      });

      it('installs with npm, adding ≤ 15 MB and compiling nothing', function () {
        const added = addedSince(baseline, installed);
        const bytes = installed.bytes - baseline.bytes;
        const largest = [...added.values()]
          .sort((a, b) => b.bytes - a.bytes)
          .slice(0, 5)
          .map((p) => `${p.name} ${mb(p.bytes)}`);
        console.log(
          `      Express ${express}: jwt-gate added ${added.size} packages, ${mb(bytes)}` +
            ` (largest: ${largest.join(', ')})`,
        );

        const drivers = [...added].filter(([, p]) => p.name === 'better-sqlite3' || p.name === 'pg');
        const native = [...installed.nativeArtifacts].filter((a) => !baseline.nativeArtifacts.has(a));
        const builds = [...added].filter(([, p]) => p.buildsOnInstall !== undefined);
        assert.deepEqual(
          {
            drivers: drivers.map(([where]) => where),
            native,
            builds: builds.map(([w, p]) => `${w} (${p.buildsOnInstall})`),
          },
          { drivers: [], native: [], builds: [] },
          'SSO verification needs no database driver and nothing compiled on install',
        );
        assert.ok(
          bytes <= MAX_ADDED_BYTES,
          `jwt-gate added ${mb(bytes)} (limit ${mb(MAX_ADDED_BYTES)}): ${largest.join(', ')}`,
        );
      });

      it(`uses the app's Express ${express} (a peer dependency, not a copy of its own)`, function () {
        const own = path.join(app, 'node_modules/jwt-gate/node_modules/express/package.json');
        assert.ok(
          !existsSync(own),
          `jwt-gate brought its own express@${existsSync(own) ? readJson(own).version : ''}`,
        );
      });

      for (const [file, how] of [
        ['app.mjs', 'ESM (import)'],
        ['app.cjs', 'CommonJS (require)'],
      ] as const) {
        it(`protects a route from ${how}: 401 without a token, 200 with one`, async function () {
          writeFileSync(path.join(app, file), consumerApp(file));
          const env = childEnv({ JWKS_URL: idp.jwksUri, ISSUER, AUDIENCE, TOKEN: token });
          const run = await runCommand(process.execPath, [file], { cwd: app, env, timeoutMs: 30_000 });
          assert.equal(run.status, 0, run.transcript);
          assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), {
            noToken: 401,
            challenge: true,
            withToken: 200,
            user: 'jane',
            clientId: AUDIENCE,
            missingDriver: { code: 'ERR_CONFIG_INVALID', namesInstall: true, fileWritten: false },
          });
        });
      }

      it("type-checks the README's TypeScript snippet (strict, nodenext, skipLibCheck: false)", async function () {
        writeFileSync(path.join(app, 'snippet.ts'), readmeSnippet());
        writeJson(path.join(app, 'tsconfig.json'), {
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            noEmit: true,
            skipLibCheck: false,
          },
          files: ['snippet.ts'],
        });
        const check = await runCommand(process.execPath, [tsc, '-p', app], { cwd: app, env: childEnv() });
        assert.equal(check.status, 0, check.transcript);
      });
    });
  }
});

/**
 * A user's app, ESM (`app.mjs`) or CommonJS (`app.cjs`): SSO verification only (no key, no store),
 * a subpath entry too, calling itself with Node's fetch and printing what it saw as JSON.
 */
function consumerApp(file: 'app.mjs' | 'app.cjs'): string {
  const load =
    file === 'app.mjs'
      ? `import express from 'express';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createJwtGate } from 'jwt-gate';
import { resolveOptions } from 'jwt-gate/config';
`
      : `const express = require('express');
const { generateKeyPairSync } = require('node:crypto');
const { existsSync } = require('node:fs');
const { createJwtGate } = require('jwt-gate');
const { resolveOptions } = require('jwt-gate/config');
`;
  return `${load}
async function main() {
  const { JWKS_URL, ISSUER, AUDIENCE, TOKEN } = process.env;
  const options = { authenticationConfiguration: { publicKeyUrls: [JWKS_URL], authority: ISSUER, clientId: AUDIENCE } };
  const resolved = resolveOptions(options);
  const gate = await createJwtGate(options);
  const app = express();
  app.use(gate.authenticate);
  app.get('/api/v1/tables', (req, res) => res.json({ user: req.user.name }));
  app.use(gate.errorHandler);
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve(s)));
  });
  try {
    const url = 'http://127.0.0.1:' + server.address().port + '/api/v1/tables';
    const noToken = await fetch(url);
    await noToken.text();
    const withToken = await fetch(url, { headers: { authorization: 'Bearer ' + TOKEN } });
    const body = await withToken.json();
    console.log(JSON.stringify({
      noToken: noToken.status,
      challenge: (noToken.headers.get('www-authenticate') ?? '').startsWith('Bearer'),
      withToken: withToken.status,
      user: body.user,
      clientId: resolved.authenticationConfiguration.clientId,
      missingDriver: await withoutDriver(options),
    }));
  } finally {
    server.closeAllConnections();
    server.close();
    await gate.close();
  }
}

// Bot tokens on SQLite without better-sqlite3 installed: a ConfigError that says what to install.
async function withoutDriver(options) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaprivateKey = privateKey.export({ type: 'pkcs8', format: 'pem' });
  try {
    const gate = await createJwtGate({ ...options, jwtTokenConfiguration: { rsaprivateKey }, database: { url: 'sqlite:./data/bots.db' } });
    await gate.close();
    return { code: 'started' };
  } catch (err) {
    return { code: err.code, namesInstall: String(err.message).includes('npm install better-sqlite3'), fileWritten: existsSync('./data') };
  }
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;
}

/** Until the README carries the snippet between its markers (issue 17 §6). */
const FALLBACK_SNIPPET = `import express from 'express';
import { createJwtGate, requirePrincipal } from 'jwt-gate';

const gate = await createJwtGate({
  authenticationConfiguration: {
    publicKeyUrls: ['https://idp.example.com/.well-known/jwks.json'],
    authority: 'https://idp.example.com',
    clientId: 'my-api',
  },
});

const app = express();
app.use(gate.authenticate); // every route after it needs a valid bearer token
app.get('/api/v1/tables', (req, res) => {
  res.json({ requestedBy: req.user!.name });
});
app.post('/api/v1/pipelines', requirePrincipal((p) => p.isBot, 'Only bots deploy pipelines.'), (_req, res) => {
  res.status(201).end();
});
app.use(gate.errorHandler); // RFC 6750 headers and {"code","message"} JSON
app.listen(3000);
`;

/** The README's "use it in your app" TypeScript, so the README cannot rot. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  if (!readme.includes('<!-- snippet:use-in-your-app -->')) {
    console.warn(
      '      README.md has no <!-- snippet:use-in-your-app --> marker; checking the fallback snippet',
    );
    return FALLBACK_SNIPPET;
  }
  const block = /<!-- snippet:use-in-your-app -->\s*```ts\n([\s\S]*?)```\s*<!-- \/snippet -->/.exec(readme);
  assert.ok(
    block,
    'README.md: a ```ts block must sit between <!-- snippet:use-in-your-app --> and <!-- /snippet -->',
  );
  return block[1]!;
}

function npm(cwd: string, args: string[]): Promise<CommandResult> {
  return runCommand('npm', [...args, ...NPM_FLAGS], { cwd, timeoutMs: 180_000 });
}

function registryHint(result: CommandResult): string {
  const offline = /E(NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN)|ETIMEDOUT|network/i.test(
    result.transcript,
  );
  return (
    (offline ? 'The npm registry could not be reached; this test installs from it.\n' : '') +
    result.transcript
  );
}

const mb = (bytes: number): string => `${(bytes / 1_000_000).toFixed(1)} MB`;
const readJson = (file: string): { version: string } =>
  JSON.parse(readFileSync(file, 'utf8')) as { version: string };
const writeJson = (file: string, value: unknown): void =>
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
