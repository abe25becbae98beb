/**
 * `npm run bench`: the request path and the JWKS fetcher under load.
 *
 * Starts a JWKS server (in this process), a bare-Express app server per round and, for every
 * scenario run, a fresh app-server child process (bare Express + a reference check, or jwt-gate);
 * this process drives the load with autocannon. This 2-core machine's speed drifts by tens of
 * percent within seconds (two identical apps measured one after the other differ by up to ±30 %
 * over 1.5 s), so each scenario is measured paired with bare Express: the load alternates between
 * the two in short slices, in Thue–Morse order (bare first, then the scenario; then the scenario
 * first; …), with the same Authorization headers, and the ratio is pooled over all the slice pairs
 * of all rounds, with a 95 % bootstrap interval. Scenarios are interleaved in rounds. Then the
 * unknown-kid flood, then memory and start-up at 100,000 live personal tokens (personal-tokens.ts),
 * then the DPoP replay claim under 1,000,000 proofs (dpop-replay.ts). Prints a table and PASS/FAIL
 * per target and writes bench/results/latest.json; a missed target does not change the exit code.
 *
 *   npm run bench
 *   BENCH_DURATION=1 BENCH_ROUNDS=1 npm run bench       # smoke run, about a minute
 *   npm run bench -- --only=distinct --loader=tsx --cpu-prof=bench/results/prof
 *   npx tsx bench/profile-summary.ts bench/results/prof/*.0.001.cpuprofile
 *
 * Options (flag or environment variable): see options.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type AppEntry, prepareAppEntry } from './app-entry.js';
import { AppProcess, killAllApps } from './app-process.js';
import { startBenchJwksServer } from './jwks-server.js';
import {
  BENCH_PATH,
  type LoadOptions,
  type LoadResult,
  type RequestHeaders,
  TokenRotation,
  runLoad,
} from './load.js';
import { type BenchOptions, parseBenchOptions } from './options.js';
import type { AppMode, AppStartMessage, AppStats } from './protocol.js';
import {
  type FloodResult,
  type Measured,
  type RunRecord,
  evaluateTargets,
  formatFlood,
  formatTable,
  formatTargets,
  median,
  summarize,
} from './report.js';
import {
  type PersonalScaleResult,
  formatPersonalScale,
  measurePersonalScale,
  personalScaleTargets,
} from './personal-tokens.js';
import {
  DPOP_REPLAY,
  FLOOD,
  PERSONAL_SCALE,
  type Scenario,
  defineScenarios,
  selectScenarios,
} from './scenarios.js';
import { DpopProofPool, generateDpopKey } from './dpop-proofs.js';
import {
  type DpopReplayResult,
  dpopReplayTargets,
  formatDpopReplay,
  measureDpopReplay,
} from './dpop-replay.js';
import type { DpopKey } from '../lib/client/dpop-key.js';
import {
  SELF_KID,
  generateBenchKeys,
  mintOwnTokens,
  signSsoTokens,
  signUnknownKidTokens,
  ssoJwks,
} from './tokens.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** The bundled app server: a cache, where linters and formatters do not look. */
const BUILD_DIR = fileURLToPath(new URL('../node_modules/.cache/jwt-gate-bench/', import.meta.url));
/** Cooldown of the gate under steady load (the shipped default); the flood uses its own. */
const LOAD_COOLDOWN_SECONDS = 30;

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2), process.env);
  // Bare Express is the reference of every run, not a run of its own.
  if (options.only?.every((name) => name === 'bare'))
    throw new Error(
      'bare Express is measured alongside every other scenario: name at least one more in --only',
    );
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  console.log(
    `jwt-gate bench: ${options.rounds} rounds × ${options.durationSeconds} s (+${options.warmupSeconds} s warm-up) paired with as much bare Express, in ${slicesText(options)}, ${options.connections} connections, node ${process.version}, ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const t = Date.now();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const entry = await prepareAppEntry(options.loader, BUILD_DIR);
  const keys = generateBenchKeys();
  // User tokens: personal access tokens are checked against the store, like bot tokens.
  const own = mintOwnTokens(keys, options.distinctTokens, 'OM_USER');
  const sso = signSsoTokens(keys, options.distinctTokens);
  const junk = signUnknownKidTokens(keys, options.floodRequests);
  // The bot's DPoP key, as the ingestion client holds it: the dpop rows' tokens are bound to it.
  const dpopKey = generateDpopKey();
  console.log(
    `app server (${entry.loader}), keys and ${2 * options.distinctTokens + options.floodRequests} tokens ready in ${Date.now() - t} ms (bot and personal access tokens: issued by each app process from its own store)`,
  );

  const jwks = await startBenchJwksServer(ssoJwks(keys));
  const startMessage = (
    mode: AppMode,
    cooldownSeconds: number,
    bots = 0,
    engine: 'direct' | 'passport' = 'direct',
    offloadSignatures = true,
    store: 'memory' | 'sqlite' = 'memory',
    personalTokens = 0,
  ): AppStartMessage => ({
    type: 'start',
    mode,
    jwksUri: jwks.jwksUri,
    selfPrivateKeyPem: keys.self.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    selfKid: SELF_KID,
    cacheMaxEntries: options.cacheMaxEntries,
    engine,
    offloadSignatures,
    cooldownSeconds,
    bots,
    personalTokens,
    store,
  });

  const all = defineScenarios({ own, sso }, options);
  const scenarios = selectScenarios(all, options.only, options.peers);
  const withFlood = options.only === null || options.only.includes(FLOOD);
  const withPersonalScale = options.only === null || options.only.includes(PERSONAL_SCALE);
  const withDpopReplay = options.only === null || options.only.includes(DPOP_REPLAY);

  // The load generator runs in this process: warm it up (its JIT, its buffers) before anything is
  // measured, or the first scenario of round 1 is driven by a colder client than the rest.
  await warmUpLoadGenerator(options, entry, startMessage('bare', LOAD_COOLDOWN_SECONDS), own);

  const measured = scenarios.filter((s) => s.mode !== 'bare');
  const runs: RunRecord[] = [];
  for (let round = 0; round < options.rounds && measured.length > 0; round++) {
    const bare = await AppProcess.start(startMessage('bare', LOAD_COOLDOWN_SECONDS), {
      entry,
      ...profileOption(options),
    });
    try {
      // As warm as every scenario's app before its first slice, or the round's first run is
      // compared with a cold bare Express.
      await runLoad({
        url: bare.url,
        tokens: new TokenRotation(own),
        connections: options.connections,
        durationSeconds: options.warmupSeconds,
      });
      // Rotate the order each round so no scenario always runs first (or right after another).
      const order = measured.map((_, i) => measured[(i + round) % measured.length]!);
      for (const scenario of order) {
        const record = await runPaired(
          scenario,
          bare,
          round,
          options,
          entry,
          {
            ...startMessage(
              scenario.mode,
              LOAD_COOLDOWN_SECONDS,
              'bots' in scenario.tokens ? scenario.tokens.bots : 0,
              scenario.engine,
              scenario.offloadSignatures,
              scenario.store,
              'personal' in scenario.tokens ? scenario.tokens.personal : 0,
            ),
            ...(scenario.peer ? { peer: scenario.peer } : {}),
            ...(scenario.dpop === true ? { dpopJkt: dpopKey.jkt } : {}),
          },
          () => jwks.fetches,
          dpopKey,
        );
        runs.push(record);
        const { load, app, reference } = record;
        console.log(
          `  round ${round + 1}/${options.rounds} ${scenario.name.padEnd(15)} ${load.requestsPerSecond.toFixed(0).padStart(6)} req/s  p99 ${load.latencyP99Ms} ms  CPU ${(app.cpuMicros / Math.max(1, load.responses)).toFixed(0)} µs/req  RSS ${(app.peakRssBytes / 2 ** 20).toFixed(1)} MB  | bare ${reference.load.requestsPerSecond.toFixed(0).padStart(6)} req/s  → ${(load.requestsPerSecond / reference.load.requestsPerSecond).toFixed(3)}`,
        );
      }
    } finally {
      await bare.stop();
    }
  }

  let flood: FloodResult | null = null;
  if (withFlood) {
    console.log(
      `unknown-kid flood: ${options.floodRequests} requests over ~${options.floodSeconds} s, cooldown ${options.floodCooldownSeconds} s`,
    );
    flood = await runFlood(
      options,
      entry,
      startMessage('gate', options.floodCooldownSeconds),
      junk,
      sso[0]!,
      () => jwks.fetches,
    );
  }
  let personalScale: PersonalScaleResult | null = null;
  if (withPersonalScale) {
    console.log(
      `live personal tokens: memory and start-up at ${options.personalScaleTokens.toLocaleString('en')} on SQLite, against one (${options.rounds} processes each)`,
    );
    personalScale = await measurePersonalScale(
      options,
      entry,
      startMessage('gate', LOAD_COOLDOWN_SECONDS),
      keys,
    );
  }
  let dpopReplay: DpopReplayResult | null = null;
  if (withDpopReplay) {
    console.log(
      `DPoP replay cache: ${options.dpopProofs.toLocaleString('en')} distinct proofs (MemoryReplayCache, memory: store, SQLite dpop_proofs), each in a fresh --expose-gc process`,
    );
    dpopReplay = await measureDpopReplay(options);
  }
  await jwks.close();

  // Bare Express's row comes with every run, whether or not --only named it.
  const summaries = summarize(
    [...all.filter((s) => s.mode === 'bare' && !scenarios.includes(s)), ...scenarios],
    runs,
  );
  const targets = [
    ...evaluateTargets(scenarios, summaries, runs, flood, options),
    ...(personalScale === null ? [] : personalScaleTargets(personalScale)),
    ...(dpopReplay === null ? [] : dpopReplayTargets(dpopReplay)),
  ];
  // Sections alone (--only=personal-scale,dpop-replay) measure no scenario: no table.
  if (runs.length > 0) {
    console.log('');
    for (const s of summaries) console.log(`${s.name.padEnd(15)} ${s.description}`);
    console.log('');
    console.log(formatTable(summaries));
    console.log(
      `${options.rounds} interleaved rounds; each run alternates with bare Express in ${slicesText(options)}; × bare = req/s over the paired bare slices, pooled over all rounds, with a 95 % bootstrap interval over the slice pairs; CPU × bare = the paired bare CPU µs/req ÷ this one's; req/s, latency, CPU and RSS are medians over the rounds, CPU and RSS the app server's own. Load average now ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}.`,
    );
  }
  if (flood !== null) console.log(`\n${formatFlood(flood)}`);
  if (personalScale !== null) console.log(`\n${formatPersonalScale(personalScale)}`);
  if (dpopReplay !== null) console.log(`\n${formatDpopReplay(dpopReplay)}`);
  console.log(`\n${formatTargets(targets)}`);

  const file = `${RESULTS_DIR}latest.json`;
  const machine = {
    node: process.version,
    platform: process.platform,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '',
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg(),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt, machine, options, summaries, flood, personalScale, dpopReplay, targets, runs }, null, 2)}\n`,
  );
  console.log(`\nresults: ${file}`);
}

/** Slices per app in a paired run: the duration in slices of about `sliceSeconds`. */
function sliceCount(options: BenchOptions): number {
  return Math.max(1, Math.round(options.durationSeconds / options.sliceSeconds));
}

function slicesText(options: BenchOptions): string {
  const slices = sliceCount(options);
  return `${slices} slice${slices === 1 ? '' : 's'} of ${(options.durationSeconds / slices).toFixed(2)} s each`;
}

function profileOption(options: BenchOptions): { cpuProfileDir?: string } {
  return options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {};
}

/**
 * One run of `scenario` in a fresh app process, paired with the round's bare app: after a warm-up,
 * the load alternates between the two in slices, with the same tokens (for bare Express, headers
 * it ignores), until each has had `durationSeconds`.
 */
async function runPaired(
  scenario: Scenario,
  bare: AppProcess,
  round: number,
  options: BenchOptions,
  entry: AppEntry,
  start: AppStartMessage,
  jwksFetches: () => number,
  dpopKey: DpopKey,
): Promise<RunRecord> {
  const app = await AppProcess.start(start, { entry, ...profileOption(options) });
  try {
    const tokens = Array.isArray(scenario.tokens) ? scenario.tokens : app.issuedTokens;
    // Each side goes on through the tokens from its warm-up to its last slice. DPoP rows: the
    // same headers on both sides, each with proofs for its own URL (htu); bare Express ignores
    // its proofs, so it sends a pool of them over and over.
    const rotation: Record<'app' | 'bare', RequestHeaders> =
      scenario.dpop === true
        ? {
            app: new DpopProofPool(dpopKey, tokens[0], app.url),
            bare: new DpopProofPool(dpopKey, tokens[0], bare.url, { cycle: true }),
          }
        : { app: new TokenRotation(tokens), bare: new TokenRotation(tokens) };
    const { connections } = options;
    await runLoad({
      tokens: rotation.app,
      connections,
      url: app.url,
      durationSeconds: options.warmupSeconds,
    });
    const slices = sliceCount(options);
    const mine: Measured[] = [];
    const theirs: Measured[] = [];
    for (let pair = 0; pair < slices; pair++) {
      const durationSeconds = options.durationSeconds / slices;
      for (const which of bareFirst(pair) ? (['bare', 'app'] as const) : (['app', 'bare'] as const)) {
        const target = which === 'bare' ? bare : app;
        (which === 'bare' ? theirs : mine).push(
          await measure(
            target,
            { tokens: rotation[which], connections, durationSeconds, url: target.url },
            jwksFetches,
          ),
        );
      }
    }
    if (rotation.app instanceof DpopProofPool && rotation.app.signedDuringLoad > 0) {
      console.log(
        `  ${scenario.name}: the proof pool ran out; ${rotation.app.signedDuringLoad} of ${rotation.app.minted + rotation.app.signedDuringLoad} proofs signed during the load`,
      );
    }
    return {
      round,
      scenario: scenario.name,
      ...combine(mine),
      reference: combine(theirs),
      pairs: mine.map((m, i) => ({
        requestsPerSecond: m.load.requestsPerSecond,
        bareRequestsPerSecond: theirs[i]!.load.requestsPerSecond,
      })),
    };
  } finally {
    await app.stop();
  }
}

/**
 * Thue–Morse order of a pair's two slices: bare first when `pair` has an even number of 1 bits
 * (bare–app, app–bare, app–bare, bare–app, …), so a steady drift of the machine's speed favours
 * neither side.
 */
function bareFirst(pair: number): boolean {
  let ones = 0;
  for (let n = pair; n > 0; n >>= 1) ones += n & 1;
  return ones % 2 === 0;
}

async function measure(app: AppProcess, load: LoadOptions, jwksFetches: () => number): Promise<Measured> {
  app.reset();
  const before = jwksFetches();
  const result = await runLoad(load);
  return { load: result, app: await app.stats(), jwksServerFetches: jwksFetches() - before };
}

/** Slices of one app as one measurement: sums, the peak RSS, the median slice latencies. */
function combine(slices: readonly Measured[]): Measured {
  const sum = (f: (m: Measured) => number): number => slices.reduce((total, m) => total + f(m), 0);
  const responses = sum((m) => m.load.responses);
  const durationSeconds = sum((m) => m.load.durationSeconds);
  const statusCounts: Record<string, number> = {};
  for (const m of slices)
    for (const [status, n] of Object.entries(m.load.statusCounts))
      statusCounts[status] = (statusCounts[status] ?? 0) + n;
  const load: LoadResult = {
    requestsPerSecond: responses / durationSeconds,
    responses,
    durationSeconds,
    latencyP50Ms: median(slices.map((m) => m.load.latencyP50Ms)),
    latencyP99Ms: median(slices.map((m) => m.load.latencyP99Ms)),
    statusCounts,
    errors: sum((m) => m.load.errors),
  };
  const first = slices[0]!.app;
  const app: AppStats = {
    cpuMicros: sum((m) => m.app.cpuMicros),
    peakRssBytes: Math.max(...slices.map((m) => m.app.peakRssBytes)),
    jwksFetches: first.jwksFetches === null ? null : sum((m) => m.app.jwksFetches ?? 0),
    cacheMaxEntries: first.cacheMaxEntries,
  };
  return { load, app, jwksServerFetches: sum((m) => m.jwksServerFetches) };
}

/** Drives a bare app, unmeasured, for a few warm-up periods. */
async function warmUpLoadGenerator(
  options: BenchOptions,
  entry: AppEntry,
  start: AppStartMessage,
  tokens: readonly string[],
): Promise<void> {
  const app = await AppProcess.start(start, { entry });
  try {
    await runLoad({
      url: app.url,
      tokens: new TokenRotation(tokens),
      connections: options.connections,
      durationSeconds: 3 * options.warmupSeconds,
    });
  } finally {
    await app.stop();
  }
}

/**
 * 2,000 tokens with random unknown `kid`s for the SSO source, paced so the flood spans several
 * cooldowns, then one valid SSO token. The app's start-up prefetch also starts a cooldown, so the
 * flood begins only once that has passed: the first junk `kid` may then cause a fetch.
 */
async function runFlood(
  options: BenchOptions,
  entry: AppEntry,
  start: AppStartMessage,
  junk: readonly string[],
  validToken: string,
  jwksFetches: () => number,
): Promise<FloodResult> {
  const app = await AppProcess.start(start, { entry });
  try {
    await sleep(options.floodCooldownSeconds * 1000 + 200);
    const before = jwksFetches();
    const load = await runLoad({
      url: app.url,
      tokens: new TokenRotation(junk),
      connections: Math.min(options.connections, options.floodRequests),
      amount: options.floodRequests,
      overallRate: Math.max(1, Math.round(options.floodRequests / options.floodSeconds)),
    });
    const afterFlood = jwksFetches();
    const res = await fetch(app.url + BENCH_PATH, { headers: { authorization: `Bearer ${validToken}` } });
    await res.arrayBuffer();
    return {
      requests: options.floodRequests,
      durationSeconds: load.durationSeconds,
      cooldownSeconds: options.floodCooldownSeconds,
      jwksFetches: afterFlood - before,
      allowedFetches: Math.floor(load.durationSeconds / options.floodCooldownSeconds) + 1,
      statusCounts: load.statusCounts,
      errors: load.errors,
      validAfter: { status: res.status, jwksFetches: jwksFetches() - afterFlood },
    };
  } finally {
    await app.stop();
  }
}

process.on('exit', killAllApps);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the app servers`);
    killAllApps();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  killAllApps();
  process.exitCode = 1;
});
