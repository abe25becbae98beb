/**
 * How the app-server child is run. By default it is bundled once with esbuild (the TypeScript
 * compiler tsx itself uses; npm packages stay external) and run as plain JavaScript, the way a
 * production build runs: `node --import tsx` adds a module-loader thread to every child (about
 * 40 MB of RSS and half a second of start-up) that is no part of what is measured. `--loader=tsx`
 * runs the TypeScript directly instead (CPU profiles then name lib/ files and lines).
 */
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';

export type AppLoader = 'bundle' | 'tsx';

const SOURCE = fileURLToPath(new URL('./app-server.ts', import.meta.url));

/** Node arguments that run the app server (after any of Node's own flags). */
export interface AppEntry {
  loader: AppLoader;
  args: string[];
}

/** Builds the bundle into `outDir` (for `bundle`); falls back to tsx if esbuild cannot be loaded. */
export async function prepareAppEntry(loader: AppLoader, outDir: string): Promise<AppEntry> {
  if (loader === 'tsx') return { loader, args: ['--import', 'tsx', SOURCE] };
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    console.warn('esbuild is not installed: running the app server with tsx');
    return prepareAppEntry('tsx', outDir);
  }
  const outfile = `${outDir}app-server.mjs`;
  await esbuild.build({
    entryPoints: [SOURCE],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return { loader, args: [outfile] };
}
