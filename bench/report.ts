/**
 * Turns the raw runs into the bench report: per scenario the ratio to the bare Express it was
 * paired with (pooled over all slice pairs, with a 95 % bootstrap interval) and medians of the
 * rest, the JWKS flood, PASS/FAIL per target, as an aligned text table and as JSON.
 */
import type { LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import type { PeerName } from './peers.js';
import type { AppMode, AppStats } from './protocol.js';

export interface ScenarioDef {
  name: string;
  mode: AppMode;
  description: string;
  /** Least acceptable ratio to bare Express; `null` for the references (bare, noop, rsa-floor, rsa-floor-async). */
  minRatio: number | null;
  /** Least acceptable ratio to `floor` (both paired with bare Express in the same run). */
  minFloorRatio?: number;
  /** `verificationConfiguration.engine` of the gate. Default `direct`. */
  engine?: 'direct' | 'passport';
  /** `verificationConfiguration.offloadSignatures` of the gate. Default true. */
  offloadSignatures?: boolean;
  /** The gate's bot store. Default `memory`. */
  store?: 'memory' | 'sqlite';
  /** `peer` mode: the library measured. */
  peer?: PeerName;
  /**
   * The reference that costs what this scenario cannot avoid (for never-seen tokens, one
   * `crypto.verify` on the thread pool): its target line also gives the ratio to it, when both ran.
   */
  floor?: string;
}

/** One app's measured load and its own numbers. */
export interface Measured {
  load: LoadResult;
  app: AppStats;
  /** Fetches the JWKS server saw during the measured window(s). */
  jwksServerFetches: number;
}

/** One run of a scenario, and the bare Express it alternated with. */
export interface RunRecord extends Measured {
  round: number;
  scenario: string;
  /** Bare Express's slices of this run, with the same tokens. */
  reference: Measured;
  /** Per slice pair, the scenario's req/s and bare Express's. */
  pairs: { requestsPerSecond: number; bareRequestsPerSecond: number }[];
}

export interface FloodResult {
  requests: number;
  durationSeconds: number;
  cooldownSeconds: number;
  /** Fetches the JWKS server saw during the flood. */
  jwksFetches: number;
  /** One per started cooldown window of the flood. */
  allowedFetches: number;
  statusCounts: Record<string, number>;
  errors: number;
  /** A valid SSO token sent right after the flood. */
  validAfter: { status: number; jwksFetches: number };
}

export interface ScenarioSummary {
  name: string;
  description: string;
  runs: number;
  requestsPerSecond: number;
  /** Req/s ÷ the paired bare Express's, pooled over every slice pair of every round. */
  ratioToBare: number | null;
  /** 95 % bootstrap interval of `ratioToBare` over the slice pairs. */
  ratioInterval: [number, number] | null;
  /** Slice pairs behind the ratio. */
  pairs: number;
  /** The paired bare Express's CPU µs/req ÷ this scenario's, pooled: the capacity ratio of the app server's CPU. */
  cpuRatioToBare: number | null;
  latencyP50Ms: number;
  latencyP99Ms: number;
  cpuMicrosPerRequest: number;
  peakRssMb: number;
  /** JWKS fetches during all measured windows of this scenario. */
  jwksFetches: number;
  /** Responses other than 200, plus connection errors, over all runs. */
  failures: number;
}

export interface TargetResult {
  target: string;
  pass: boolean;
  detail: string;
}

const MB = 1024 * 1024;
/** The memory target: peak RSS under distinct tokens within this of bare Express, MB. */
const RSS_BUDGET_MB = 60;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One summary per scenario. Bare Express's row comes from the bare slices of every run (it is the
 * reference of each run, never a run of its own).
 */
export function summarize(scenarios: readonly ScenarioDef[], runs: readonly RunRecord[]): ScenarioSummary[] {
  return scenarios.flatMap((scenario): ScenarioSummary[] => {
    if (scenario.mode === 'bare') {
      const references = runs.map((r) => r.reference);
      if (references.length === 0) return [];
      return [
        {
          ...describe(scenario, references),
          ratioToBare: null,
          ratioInterval: null,
          pairs: 0,
          cpuRatioToBare: null,
        },
      ];
    }
    const mine = runs.filter((r) => r.scenario === scenario.name);
    if (mine.length === 0) return [];
    const pairs = mine.flatMap((r) => r.pairs);
    return [
      {
        ...describe(scenario, mine),
        ratioToBare: pooledRatio(pairs),
        ratioInterval: bootstrapInterval(pairs),
        pairs: pairs.length,
        cpuRatioToBare: pooledCpuPerRequest(mine.map((r) => r.reference)) / pooledCpuPerRequest(mine),
      },
    ];
  });
}

/** The medians and totals of a scenario's measurements. */
function describe(
  scenario: ScenarioDef,
  runs: readonly Measured[],
): Omit<ScenarioSummary, 'ratioToBare' | 'ratioInterval' | 'pairs' | 'cpuRatioToBare'> {
  return {
    name: scenario.name,
    description: scenario.description,
    runs: runs.length,
    requestsPerSecond: median(runs.map((r) => r.load.requestsPerSecond)),
    latencyP50Ms: median(runs.map((r) => r.load.latencyP50Ms)),
    latencyP99Ms: median(runs.map((r) => r.load.latencyP99Ms)),
    cpuMicrosPerRequest: median(runs.map(cpuPerRequest)),
    peakRssMb: median(runs.map((r) => r.app.peakRssBytes / MB)),
    jwksFetches: runs.reduce((sum, r) => sum + r.jwksServerFetches, 0),
    failures: runs.reduce(
      (sum, r) => sum + r.load.errors + r.load.responses - (r.load.statusCounts['200'] ?? 0),
      0,
    ),
  };
}

type Pair = RunRecord['pairs'][number];

function pooledRatio(pairs: readonly Pair[]): number {
  let mine = 0;
  let bare = 0;
  for (const p of pairs) {
    mine += p.requestsPerSecond;
    bare += p.bareRequestsPerSecond;
  }
  return mine / bare;
}

/** Resamples of the slice pairs behind an interval. */
const BOOTSTRAP_RESAMPLES = 4000;

/**
 * The 2.5th and 97.5th percentiles of the pooled ratio over resamples of the pairs (with
 * replacement), from a fixed seed so the same runs always give the same interval.
 */
function bootstrapInterval(pairs: readonly Pair[]): [number, number] | null {
  if (pairs.length < 2) return null;
  const random = seededRandom(0x9e3779b9);
  const ratios: number[] = [];
  const resample: Pair[] = new Array<Pair>(pairs.length);
  for (let i = 0; i < BOOTSTRAP_RESAMPLES; i++) {
    for (let j = 0; j < pairs.length; j++) resample[j] = pairs[Math.floor(random() * pairs.length)]!;
    ratios.push(pooledRatio(resample));
  }
  ratios.sort((a, b) => a - b);
  return [ratios[Math.floor(0.025 * (ratios.length - 1))]!, ratios[Math.ceil(0.975 * (ratios.length - 1))]!];
}

/** mulberry32: the same numbers from the same seed, so the same runs give the same intervals. */
function seededRandom(initial: number): () => number {
  let seed = initial;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function pairsOf(runs: readonly RunRecord[], scenario: string): Pair[] {
  return runs.filter((r) => r.scenario === scenario).flatMap((r) => r.pairs);
}

/**
 * 95 % bootstrap interval of (a's pooled ratio to bare) ÷ (b's): each side's slice pairs resampled
 * on their own (the two rows ran beside different bare slices).
 */
function ratioOfRatiosInterval(a: readonly Pair[], b: readonly Pair[]): [number, number] | null {
  if (a.length < 2 || b.length < 2) return null;
  const random = seededRandom(0x2545f491);
  const resample = (pairs: readonly Pair[]): Pair[] =>
    pairs.map(() => pairs[Math.floor(random() * pairs.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < BOOTSTRAP_RESAMPLES; i++) {
    ratios.push(pooledRatio(resample(a)) / pooledRatio(resample(b)));
  }
  ratios.sort((x, y) => x - y);
  return [ratios[Math.floor(0.025 * (ratios.length - 1))]!, ratios[Math.ceil(0.975 * (ratios.length - 1))]!];
}

function cpuPerRequest(run: Measured): number {
  return pooledCpuPerRequest([run]);
}

/** CPU µs per request over several measurements together. */
function pooledCpuPerRequest(runs: readonly Measured[]): number {
  let cpu = 0;
  let responses = 0;
  for (const r of runs) {
    cpu += r.app.cpuMicros;
    responses += r.load.responses;
  }
  return cpu / Math.max(1, responses);
}

export function evaluateTargets(
  scenarios: readonly ScenarioDef[],
  summaries: readonly ScenarioSummary[],
  runs: readonly RunRecord[],
  flood: FloodResult | null,
  options: BenchOptions,
): TargetResult[] {
  const targets: TargetResult[] = [];
  const byName = new Map(summaries.map((s) => [s.name, s]));
  for (const scenario of scenarios) {
    const summary = byName.get(scenario.name);
    if (summary === undefined || scenario.minRatio === null || summary.ratioToBare === null) continue;
    const interval = summary.ratioInterval;
    const undecided =
      interval !== null && interval[0] < scenario.minRatio && scenario.minRatio <= interval[1];
    targets.push({
      target: `${scenario.name}: ≥ ${scenario.minRatio.toFixed(2)}× bare Express`,
      pass: summary.ratioToBare >= scenario.minRatio && summary.failures === 0,
      detail: `${ratioText(summary.ratioToBare)}× (${summary.pairs === 1 ? 'one slice pair, too few for an interval' : `${summary.pairs} slice pairs`}${interval === null ? '' : `, 95 % interval ${intervalText(interval)}`}; by CPU µs/req ${summary.cpuRatioToBare === null ? '-' : ratioText(summary.cpuRatioToBare)}×)${undecided ? "; the target is inside the interval: within this run's noise" : ''}${floorText(summary, scenario.floor === undefined ? undefined : byName.get(scenario.floor))}${summary.failures ? `; ${summary.failures} non-200 answers — not a valid run` : ''}`,
    });
  }

  for (const scenario of scenarios) {
    if (scenario.minFloorRatio === undefined || scenario.floor === undefined) continue;
    const summary = byName.get(scenario.name);
    const floor = byName.get(scenario.floor);
    if (summary?.ratioToBare == null || floor?.ratioToBare == null) continue;
    const ratio = summary.ratioToBare / floor.ratioToBare;
    const interval = ratioOfRatiosInterval(pairsOf(runs, scenario.name), pairsOf(runs, floor.name));
    const min = scenario.minFloorRatio;
    const undecided = interval !== null && interval[0] < min && min <= interval[1];
    const cpu =
      summary.cpuRatioToBare === null || floor.cpuRatioToBare === null
        ? '-'
        : ratioText(summary.cpuRatioToBare / floor.cpuRatioToBare);
    targets.push({
      target: `${scenario.name}: ≥ ${min.toFixed(2)}× ${floor.name} (both paired with bare Express)`,
      pass: ratio >= min && summary.failures === 0,
      detail: `${ratioText(ratio)}×${interval === null ? '' : ` (95 % interval ${intervalText(interval)})`}, by CPU µs/req ${cpu}×; ${scenario.name} ${ratioText(summary.ratioToBare)}× bare, ${floor.name} ${ratioText(floor.ratioToBare)}× bare${undecided ? "; the target is inside the interval: within this run's noise" : ''}${summary.failures ? `; ${summary.failures} non-200 answers — not a valid run` : ''}`,
    });
  }

  targets.push(...compareWithPeers(scenarios, byName));

  const gateRuns = runs.filter((r) => r.app.jwksFetches !== null);
  if (gateRuns.length > 0) {
    const fetches = gateRuns.reduce((sum, r) => sum + r.jwksServerFetches, 0);
    targets.push({
      target: 'no JWKS fetch under load (keys cached, known kid)',
      pass: fetches === 0,
      detail: `${fetches} fetches in ${gateRuns.length} measured gate runs`,
    });
  }

  if (flood !== null) {
    const answered = Object.values(flood.statusCounts).reduce((a, b) => a + b, 0);
    const unauthorized = flood.statusCounts['401'] ?? 0;
    const serverErrors = Object.entries(flood.statusCounts)
      .filter(([status]) => status.startsWith('5'))
      .reduce((sum, [, n]) => sum + n, 0);
    targets.push({
      target: `unknown-kid flood: ≤ 1 JWKS fetch per cooldown (${flood.cooldownSeconds} s)`,
      pass: flood.jwksFetches <= flood.allowedFetches,
      detail: `${flood.jwksFetches} fetches for ${flood.requests} requests over ${flood.durationSeconds.toFixed(2)} s (allowed ${flood.allowedFetches})`,
    });
    targets.push({
      target: 'unknown-kid flood: every answer a 401, no 5xx',
      pass: unauthorized === flood.requests && answered === flood.requests && flood.errors === 0,
      detail: `${formatStatuses(flood.statusCounts)}; ${serverErrors} 5xx; ${flood.errors} connection errors`,
    });
    targets.push({
      target: 'valid SSO token right after the flood: 200 with 0 fetches',
      pass: flood.validAfter.status === 200 && flood.validAfter.jwksFetches === 0,
      detail: `status ${flood.validAfter.status}, ${flood.validAfter.jwksFetches} fetches`,
    });
  }

  const bare = byName.get('bare');
  const distinct = byName.get('distinct');
  if (bare !== undefined && distinct !== undefined) {
    const over = (s: ScenarioSummary): string => {
      const mb = s.peakRssMb - bare.peakRssMb;
      return `${s.name} ${mb < 0 ? '−' : '+'}${Math.abs(mb).toFixed(1)} MB`;
    };
    // The others for information: bot-distinct also holds its bots in the in-memory bot store.
    const others = summaries.filter((s) => s !== distinct && s.name.endsWith('-distinct')).map(over);
    targets.push({
      target: `memory: peak RSS under distinct tokens within ${RSS_BUDGET_MB} MB of bare Express`,
      pass: distinct.peakRssMb - bare.peakRssMb <= RSS_BUDGET_MB,
      detail: `${distinct.peakRssMb.toFixed(1)} MB vs bare ${bare.peakRssMb.toFixed(1)} MB: ${[over(distinct), ...others].join(', ')}`,
    });
  }
  if (gateRuns.length > 0) {
    const sizes = new Set(gateRuns.map((r) => r.app.cacheMaxEntries));
    const configured = sizes.size === 1 && sizes.has(options.cacheMaxEntries);
    targets.push({
      target: 'memory: result cache with a configured maximum size',
      pass: configured,
      detail: `verificationConfiguration.cache.maxEntries = ${[...sizes].join(', ')} in every gate process`,
    });
  }
  return targets;
}

/** jwt-gate's SSO scenarios against the best peer library of the same run, hot and distinct. */
function compareWithPeers(
  scenarios: readonly ScenarioDef[],
  byName: ReadonlyMap<string, ScenarioSummary>,
): TargetResult[] {
  const results: TargetResult[] = [];
  for (const [ours, distinct, label] of [
    ['sso', false, 'one hot SSO token'],
    ['sso-distinct', true, 'distinct SSO tokens'],
  ] as const) {
    const mine = byName.get(ours);
    const peers = scenarios
      .filter((s) => s.mode === 'peer' && s.name.endsWith('-distinct') === distinct)
      .flatMap((s) => byName.get(s.name) ?? []);
    if (mine?.ratioToBare == null || peers.length === 0) continue;
    const valid = peers.filter((p) => p.failures === 0 && p.ratioToBare !== null);
    const best = valid.reduce<ScenarioSummary | null>(
      (top, p) => (top === null || p.ratioToBare! > top.ratioToBare! ? p : top),
      null,
    );
    const broken = peers.filter((p) => !valid.includes(p)).map((p) => p.name);
    results.push({
      target: `faster than every peer library: ${label}`,
      pass: mine.failures === 0 && (best === null || mine.ratioToBare > best.ratioToBare!),
      detail: `${ours} ${withInterval(mine)} vs best peer ${best === null ? '-' : `${best.name} ${withInterval(best)}`}${best !== null && overlap(mine, best) ? ": the intervals overlap, within this run's noise" : ''}${broken.length ? `; not counted (non-200 answers): ${broken.join(', ')}` : ''}`,
    });
  }
  return results;
}

export function formatTable(summaries: readonly ScenarioSummary[]): string {
  const header = [
    'scenario',
    'req/s',
    '× bare',
    '95 % interval',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'CPU × bare',
    'peak RSS MB',
    'JWKS fetches',
    'non-200',
  ];
  const rows = summaries.map((s) => [
    s.name,
    s.requestsPerSecond.toFixed(0),
    s.ratioToBare === null ? '1' : ratioText(s.ratioToBare),
    s.ratioInterval === null ? '' : intervalText(s.ratioInterval),
    s.latencyP50Ms.toFixed(0),
    s.latencyP99Ms.toFixed(0),
    s.cpuMicrosPerRequest.toFixed(0),
    s.cpuRatioToBare === null ? '1' : ratioText(s.cpuRatioToBare),
    s.peakRssMb.toFixed(1),
    String(s.jwksFetches),
    String(s.failures),
  ]);
  return alignColumns([header, ...rows], [false, true, true, true, true, true, true, true, true, true, true]);
}

export function formatFlood(flood: FloodResult): string {
  return [
    `unknown-kid flood: ${flood.requests} requests with random kids for the SSO source, paced over ${flood.durationSeconds.toFixed(2)} s, cooldown ${flood.cooldownSeconds} s`,
    `  JWKS fetches during the flood: ${flood.jwksFetches} (allowed: ${flood.allowedFetches}, one per started cooldown)`,
    `  answers: ${formatStatuses(flood.statusCounts)}; connection errors ${flood.errors}`,
    `  valid SSO token right after: status ${flood.validAfter.status}, JWKS fetches ${flood.validAfter.jwksFetches}`,
  ].join('\n');
}

export function formatTargets(targets: readonly TargetResult[]): string {
  const rows = targets.map((t) => [t.pass ? 'PASS' : 'FAIL', t.target, t.detail]);
  return alignColumns(rows, [false, false, false]);
}

function formatStatuses(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([status, n]) => `${status}×${n}`).join(', ');
}

function alignColumns(rows: readonly string[][], rightAligned: readonly boolean[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => [...(row[col] ?? '')].length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => {
          const pad = ' '.repeat(widths[col]! - [...cell].length);
          return rightAligned[col] ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `; 0.98× rsa-floor-async (itself 0.76× bare)`, or '' when the floor did not run. */
function floorText(summary: ScenarioSummary, floor: ScenarioSummary | undefined): string {
  if (floor === undefined || floor.ratioToBare === null || summary.ratioToBare === null) return '';
  return `; ${ratioText(summary.ratioToBare / floor.ratioToBare)}× ${floor.name} (itself ${ratioText(floor.ratioToBare)}× bare)`;
}

function withInterval(s: ScenarioSummary): string {
  return `${ratioText(s.ratioToBare!)}×${s.ratioInterval === null ? '' : ` (${intervalText(s.ratioInterval)})`}`;
}

function overlap(a: ScenarioSummary, b: ScenarioSummary): boolean {
  if (a.ratioInterval === null || b.ratioInterval === null) return false;
  return a.ratioInterval[0] <= b.ratioInterval[1] && b.ratioInterval[0] <= a.ratioInterval[1];
}

function intervalText([low, high]: readonly [number, number]): string {
  return `${ratioText(low)}–${ratioText(high)}`;
}

/** A ratio to 3 decimals, rounded down: a miss of a 0.95 target never reads "0.950". */
function ratioText(ratio: number): string {
  return (Math.floor(ratio * 1000) / 1000).toFixed(3);
}
