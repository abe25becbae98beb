/**
 * Helpers for the packaging test: run a command and keep its output (for assertion messages), pack
 * the package the way `npm publish` would, and take stock of a `node_modules` tree — its packages,
 * its size and anything that was or would be compiled while installing it.
 *
 *   const tarball = await packFromCopy(root, dir);
 *   const before = takeStock(path.join(app, 'node_modules'));
 *   // … npm install tarball
 *   const added = addedSince(before, takeStock(path.join(app, 'node_modules')));
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  /** Exit code; `null` when the process was killed (e.g. on timeout). */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line and both streams, for an assertion message. */
  readonly transcript: string;
}

/**
 * Runs a command without blocking the event loop (a JWKS server in the test process must keep
 * answering), never throws: the caller asserts on `status` with `transcript` as the message.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      timeout: options.timeoutMs ?? 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const finish = (status: number | null, note = ''): void =>
      resolve({
        status,
        stdout,
        stderr,
        transcript: `$ ${command} ${args.join(' ')}   (in ${options.cwd})${note}\n--- stdout\n${stdout}--- stderr\n${stderr}`,
      });
    child.on('error', (err) => finish(null, `\n${err.message}`));
    child.on('close', (status, signal) => finish(status, signal ? `\nkilled by ${signal}` : ''));
  });
}

/**
 * The environment for npm and the consumer apps: without the `npm_*` variables of an enclosing
 * `npm test` (`npm_config_local_prefix` would point a nested npm at this repository) and without
 * `NODE_OPTIONS` (a test runner's loader must not leak into a user's app); npm quiet.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(name) || name === 'NODE_OPTIONS' || name === 'INIT_CWD') continue;
    env[name] = value;
  }
  return { ...env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false', ...extra };
}

/** What a source checkout holds that a pack must not see (it builds `dist` itself, in `prepack`). */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'coverage', 'test-artifacts']);

/**
 * `npm pack` (with its `prepack` build) in a copy of the work tree, so the tarball is built from
 * the sources, not from a stale `dist`, and the build does not delete the `dist` that other tests
 * and the CLI run from meanwhile. The copy borrows the repository's `node_modules`.
 */
export async function packFromCopy(root: string, dir: string): Promise<string> {
  const source = path.join(dir, 'source');
  const destination = path.join(dir, 'pack');
  mkdirSync(destination, { recursive: true });
  cpSync(root, source, {
    recursive: true,
    filter: (from) => path.dirname(from) !== root || !NOT_COPIED.has(path.basename(from)),
  });
  symlinkSync(path.join(root, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const packed = await runCommand('npm', ['pack', '--pack-destination', destination], {
    cwd: source,
    timeoutMs: 180_000,
  });
  const tarballs = existsSync(destination) ? readdirSync(destination).filter((f) => f.endsWith('.tgz')) : [];
  if (packed.status !== 0 || tarballs.length !== 1) {
    throw new Error(`npm pack did not produce one tarball (got ${tarballs.length})\n${packed.transcript}`);
  }
  return path.join(destination, tarballs[0]!);
}

export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  /** Its files, without its own nested `node_modules`. */
  readonly bytes: number;
  /**
   * Why installing it compiles or runs code: a `binding.gyp` (npm runs `node-gyp rebuild` for it)
   * or a preinstall/install/postinstall script. npm 11 skips dependency scripts unless allowed;
   * older npm and allowed scripts run them.
   */
  readonly buildsOnInstall: string | undefined;
}

export interface Stock {
  /** Keyed by the package's directory relative to `node_modules`' parent, e.g. `node_modules/a/node_modules/b`. */
  readonly packages: ReadonlyMap<string, InstalledPackage>;
  /** Apparent size of every file under `node_modules`. */
  readonly bytes: number;
  /** Compiled output: `*.node` files and `build/` directories of packages with a `binding.gyp`. */
  readonly nativeArtifacts: ReadonlySet<string>;
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

/** Takes stock of a `node_modules` directory (an absent one is empty). */
export function takeStock(nodeModules: string): Stock {
  const base = path.dirname(nodeModules);
  const packages = new Map<string, InstalledPackage>();
  const nativeArtifacts = new Set<string>();

  const visitPackage = (dir: string): void => {
    const manifest = path.join(dir, 'package.json');
    if (!existsSync(manifest)) return;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name?: string;
      version?: string;
      scripts?: Record<string, string>;
    };
    const hasGyp = existsSync(path.join(dir, 'binding.gyp'));
    const script = INSTALL_SCRIPTS.find((name) => pkg.scripts?.[name] !== undefined);
    if (hasGyp && existsSync(path.join(dir, 'build')))
      nativeArtifacts.add(path.relative(base, path.join(dir, 'build')));
    packages.set(path.relative(base, dir), {
      name: pkg.name ?? path.basename(dir),
      version: pkg.version ?? '?',
      bytes: sizeOf(dir, (file) => {
        if (file.endsWith('.node')) nativeArtifacts.add(path.relative(base, file));
      }),
      buildsOnInstall: hasGyp ? 'binding.gyp' : script && `${script}: ${pkg.scripts?.[script]}`,
    });
    if (existsSync(path.join(dir, 'node_modules'))) visitNodeModules(path.join(dir, 'node_modules'));
  };
  const visitNodeModules = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
      const child = path.join(dir, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of readdirSync(child)) visitPackage(path.join(child, scoped));
      } else {
        visitPackage(child);
      }
    }
  };

  if (existsSync(nodeModules)) visitNodeModules(nodeModules);
  return {
    packages,
    bytes: existsSync(nodeModules) ? sizeOf(nodeModules, () => {}, true) : 0,
    nativeArtifacts,
  };
}

/** Packages present in `after` that were not in `before` (or at another version). */
export function addedSince(before: Stock, after: Stock): Map<string, InstalledPackage> {
  const added = new Map<string, InstalledPackage>();
  for (const [where, pkg] of after.packages) {
    if (before.packages.get(where)?.version !== pkg.version) added.set(where, pkg);
  }
  return added;
}

/** Apparent size of a directory tree; symbolic links count as themselves, never followed. */
function sizeOf(dir: string, onFile: (file: string) => void, withNodeModules = false): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' && !withNodeModules) continue;
      bytes += sizeOf(child, onFile, withNodeModules);
    } else {
      onFile(child);
      bytes += lstatSync(child).size;
    }
  }
  return bytes;
}
