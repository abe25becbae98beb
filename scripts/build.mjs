// Builds the package twice: ESM (dist/esm) and CommonJS (dist/cjs), so both `import` and
// `require` consumers get a native module with type declarations (see package.json "exports").
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';

const tsc = (project) => execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
tsc('tsconfig.build.json');
tsc('tsconfig.cjs.json');
mkdirSync('dist/cjs', { recursive: true });
writeFileSync('dist/esm/package.json', JSON.stringify({ type: 'module' }) + '\n');
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
// The Bots page's HTML, scripts and styles are served from files next to its router
// (lib/http/bots-page/asset-locations.cts finds them with __dirname).
for (const format of ['esm', 'cjs']) {
  cpSync('lib/http/bots-page/static', `dist/${format}/http/bots-page/static`, { recursive: true });
}
