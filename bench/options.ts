/**
 * Bench options, from flags (`--duration=5` or `--duration 5`) or the environment
 * (`BENCH_DURATION=6`); flags win. Defaults give the full run; `BENCH_DURATION=1 BENCH_ROUNDS=1`
 * is a smoke run of well under a minute.
 */
import type { AppLoader } from './app-entry.js';

export interface BenchOptions {
  /** Measured seconds per scenario run, and as many of bare Express paired with it. Default 6. `BENCH_DURATION`. */
  durationSeconds: number;
  /**
   * A run alternates between the scenario and bare Express in slices of this many seconds (at
   * most the duration). Default 1.5. `BENCH_SLICE`.
   */
  sliceSeconds: number;
  /** Rounds of interleaved scenarios; medians are taken over them. Default 3. `BENCH_ROUNDS`. */
  rounds: number;
  /** autocannon connections. Default 50. `BENCH_CONNECTIONS`. */
  connections: number;
  /**
   * Unmeasured warm-up of each fresh app before its first slice, seconds. Default 3 (at most the
   * duration): after 1 s, a fresh app's first slice still measured about 11 % below its later ones.
   * `BENCH_WARMUP`.
   */
  warmupSeconds: number;
  /** Distinct tokens rotated in the `*-distinct` scenarios. Default 10,000. `BENCH_DISTINCT`. */
  distinctTokens: number;
  /** `verificationConfiguration.cache.maxEntries`: below `distinctTokens`, so the cache never helps. Default 1,000. `BENCH_CACHE_MAX`. */
  cacheMaxEntries: number;
  /** Requests with random unknown `kid`s in the flood. Default 2,000. `BENCH_FLOOD_REQUESTS`. */
  floodRequests: number;
  /** The flood is paced over this many seconds, to span several cooldowns. Default 4. `BENCH_FLOOD_SECONDS`. */
  floodSeconds: number;
  /** `verificationConfiguration.jwks.cooldownSeconds` of the flood's app. Default 1. `BENCH_FLOOD_COOLDOWN`. */
  floodCooldownSeconds: number;
  /**
   * Live personal tokens in the SQLite store of the memory and start-up measurement (10 per person).
   * Default 100,000. `BENCH_PERSONAL_TOKENS`.
   */
  personalScaleTokens: number;
  /**
   * Distinct DPoP proofs claimed in the replay-cache memory measurement (`dpop-replay`). Default
   * 1,000,000. `BENCH_DPOP_PROOFS`.
   */
  dpopProofs: number;
  /** Also measure the peer libraries (`peer-*` scenarios). Default false. `--peers`, `BENCH_PEERS=1`. */
  peers: boolean;
  /** Only these scenarios (comma-separated names, `peers` for all peer scenarios); default all. `BENCH_ONLY`. */
  only: string[] | null;
  /** Write a V8 CPU profile of every app process (not the flood's) here. Default none. `BENCH_CPU_PROF`. */
  cpuProfileDir: string | null;
  /** How the app server runs: `bundle` (esbuild, plain JS; default) or `tsx`. `BENCH_LOADER`. */
  loader: AppLoader;
}

const NUMERIC = {
  durationSeconds: ['duration', 'BENCH_DURATION', 6],
  sliceSeconds: ['slice', 'BENCH_SLICE', 1.5],
  rounds: ['rounds', 'BENCH_ROUNDS', 3],
  connections: ['connections', 'BENCH_CONNECTIONS', 50],
  warmupSeconds: ['warmup', 'BENCH_WARMUP', 3],
  distinctTokens: ['distinct', 'BENCH_DISTINCT', 10_000],
  cacheMaxEntries: ['cache-max', 'BENCH_CACHE_MAX', 1_000],
  floodRequests: ['flood-requests', 'BENCH_FLOOD_REQUESTS', 2_000],
  floodSeconds: ['flood-seconds', 'BENCH_FLOOD_SECONDS', 4],
  floodCooldownSeconds: ['flood-cooldown', 'BENCH_FLOOD_COOLDOWN', 1],
  personalScaleTokens: ['personal-tokens', 'BENCH_PERSONAL_TOKENS', 100_000],
  dpopProofs: ['dpop-proofs', 'BENCH_DPOP_PROOFS', 1_000_000],
} as const satisfies Record<string, readonly [string, string, number]>;

export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const flags = parseFlags(argv);
  const raw = (flag: string, envName: string): string | undefined => flags.get(flag) ?? env[envName];
  const numbers = {} as Record<keyof typeof NUMERIC, number>;
  for (const [key, [flag, envName, fallback]] of Object.entries(NUMERIC) as [
    keyof typeof NUMERIC,
    (typeof NUMERIC)[keyof typeof NUMERIC],
  ][]) {
    const value = raw(flag, envName);
    const parsed = value === undefined || value === '' ? fallback : Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) {
      throw new Error(`--${flag} / ${envName} must be a positive number, got ${JSON.stringify(value)}`);
    }
    numbers[key] = parsed;
  }
  const only = raw('only', 'BENCH_ONLY');
  const peers = raw('peers', 'BENCH_PEERS');
  const cpuProfileDir = raw('cpu-prof', 'BENCH_CPU_PROF');
  const loader = raw('loader', 'BENCH_LOADER') || 'bundle';
  if (loader !== 'bundle' && loader !== 'tsx')
    throw new Error(`--loader / BENCH_LOADER must be bundle or tsx, got ${JSON.stringify(loader)}`);
  return {
    ...numbers,
    rounds: Math.round(numbers.rounds),
    connections: Math.round(numbers.connections),
    distinctTokens: Math.round(numbers.distinctTokens),
    cacheMaxEntries: Math.round(numbers.cacheMaxEntries),
    floodRequests: Math.round(numbers.floodRequests),
    personalScaleTokens: Math.round(numbers.personalScaleTokens),
    dpopProofs: Math.round(numbers.dpopProofs),
    warmupSeconds: Math.min(numbers.warmupSeconds, numbers.durationSeconds),
    sliceSeconds: Math.min(numbers.sliceSeconds, numbers.durationSeconds),
    only: only
      ? only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : null,
    cpuProfileDir: cpuProfileDir || null,
    loader,
    peers: peers !== undefined && peers !== '0' && peers !== 'false',
  };
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--'))
      throw new Error(`unexpected argument ${JSON.stringify(arg)}; use --name=value`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    // A flag without a value (`--peers`) is "1".
    else if (i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) flags.set(arg.slice(2), '1');
    else flags.set(arg.slice(2), argv[++i]!);
  }
  return flags;
}
