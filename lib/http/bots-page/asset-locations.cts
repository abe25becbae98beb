/**
 * Where the Bots page's files are on disk. This one file is CommonJS in every build (`.cts` →
 * `.cjs`), so `__dirname` and `require.resolve` work from the TypeScript sources (tsx), the ESM
 * build and the CJS build alike — lib/ may not use `import.meta`, which the CJS build rejects.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS file by design (see above)
import path = require('node:path');

/** The page's own static files: `lib/http/bots-page/static` (copied into each build by scripts/build.mjs). */
const staticDir: string = path.join(__dirname, 'static');

/** Resolves `specifier` (e.g. `oidc-client-ts/package.json`) the way this package's code would. */
function resolveDependency(specifier: string): string {
  return require.resolve(specifier);
}

export = { staticDir, resolveDependency };
