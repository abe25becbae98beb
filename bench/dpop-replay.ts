/**
 * Memory of the DPoP replay claim under many distinct proofs (issue 20; `dpop-replay` in
 * `--only`): each of the three places a gate may claim a proof's `jti`, in its own fresh
 * `node --expose-gc` process (dpop-replay-probe.ts), fed `options.dpopProofs` distinct proofs:
 *
 * - `MemoryReplayCache` (a gate without a store), every proof within one window: it must stay at
 *   its `maxEntries` and refuse the rest (fail closed);
 * - `MemoryStore` (a gate on `memory:`), the same;
 * - the SQLite store's `dpop_proofs` table, the clock advancing at 3,000 proofs a second: expired
 *   rows are pruned, so the table must hold about one window's worth (65 s × 3,000) at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './options.js';
import type { TargetResult } from './report.js';

/** How long a claimed proof is kept: `iat` + 60 s maximum age + 5 s clock skew (the defaults). */
export const WINDOW_MS = 65_000;
/** Proofs a second in the SQLite run (the rate `MemoryReplayCache`'s default size is made for). */
export const SQLITE_RATE = 3000;
/** Claims between two samples of the size and RSS. */
export const SAMPLE_EVERY = 50_000;

export type ProbeKind = 'cache' | 'memory-store' | 'sqlite';

export interface ProbeResult {
  kind: ProbeKind;
  proofs: number;
  accepted: number;
  refused: number;
  /** Entries or rows held at the end; `null` where the structure is private (memory store). */
  entries: number | null;
  /** Most entries or rows seen at any sample. */
  peakEntries: number | null;
  /** `MemoryReplayCache.maxEntries` (cache only). */
  maxEntries: number | null;
  /** Simulated seconds the claims spanned (SQLite; 0: all at one instant). */
  spanSeconds: number;
  /** Growth from before the first claim to after the last, after full collections, bytes. */
  heapUsedGrowth: number;
  rssGrowth: number;
  /** Highest RSS sampled during the claims, minus the RSS before them. */
  peakRssGrowth: number;
  /** SQLite: the database file and its WAL at the end, bytes, and free pages in the file. */
  fileBytes: number | null;
  walBytes: number | null;
  freePages: number | null;
  /** Wall time per claim, µs. */
  microsPerClaim: number;
}

const PROBE = fileURLToPath(new URL('./dpop-replay-probe.ts', import.meta.url));
const MB = 2 ** 20;

export interface DpopReplayResult {
  proofs: number;
  probes: ProbeResult[];
}

export async function measureDpopReplay(options: BenchOptions): Promise<DpopReplayResult> {
  const probes: ProbeResult[] = [];
  for (const kind of ['cache', 'memory-store', 'sqlite'] as const) {
    const dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-dpop-'));
    try {
      const result = await runProbe(kind, options.dpopProofs, dir);
      console.log(`  ${kind}: ${describe(result)}`);
      probes.push(result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { proofs: options.dpopProofs, probes };
}

function runProbe(kind: ProbeKind, proofs: number, dir: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', PROBE, kind, String(proofs), dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as ProbeResult);
      else reject(new Error(`dpop-replay probe ${kind} exited with ${code}`));
    });
  });
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function describe(r: ProbeResult): string {
  const held =
    r.entries === null
      ? 'entries not visible'
      : `${r.entries.toLocaleString('en')} held (peak ${r.peakEntries!.toLocaleString('en')}${r.maxEntries === null ? '' : `, maxEntries ${r.maxEntries.toLocaleString('en')}`})`;
  const file =
    r.fileBytes === null
      ? ''
      : `; file ${mb(r.fileBytes)} + WAL ${mb(r.walBytes ?? 0)}, ${r.freePages} free pages`;
  const span = r.spanSeconds > 0 ? ` over ${r.spanSeconds.toFixed(0)} simulated s` : ' within one window';
  return `${r.proofs.toLocaleString('en')} proofs${span}: ${r.accepted.toLocaleString('en')} accepted, ${r.refused.toLocaleString('en')} refused; ${held}; heap used ${signed(r.heapUsedGrowth)}, RSS ${signed(r.rssGrowth)} (peak ${signed(r.peakRssGrowth)})${file}; ${r.microsPerClaim.toFixed(1)} µs per claim`;
}

function signed(bytes: number): string {
  return `${bytes < 0 ? '−' : '+'}${mb(Math.abs(bytes))}`;
}

export function formatDpopReplay(result: DpopReplayResult): string {
  const name: Record<ProbeKind, string> = {
    cache: 'MemoryReplayCache (no store)',
    'memory-store': 'memory: store (MemoryStore)',
    sqlite: `SQLite dpop_proofs (${SQLITE_RATE.toLocaleString('en')} proofs/s, window ${WINDOW_MS / 1000} s)`,
  };
  return [
    `DPoP replay claim under ${result.proofs.toLocaleString('en')} distinct proofs (fresh --expose-gc process each; growth after full collections):`,
    ...result.probes.map((r) => `  ${name[r.kind]}: ${describe(r)}`),
  ].join('\n');
}

/** The bound every replay cache must hold under the flood: the issue's "memory bounded (state the bound)". */
const REPLAY_HEAP_BUDGET_BYTES = 32 * 1024 * 1024;

/**
 * Targets of the replay section: the in-memory caches (no store, `memory:` store) stay within their
 * 200,000 entries' heap, and SQLite keeps about one window's worth of rows (expired ones pruned).
 */
export function dpopReplayTargets(result: DpopReplayResult): TargetResult[] {
  const n = result.proofs.toLocaleString('en');
  return result.probes.map((probe) => {
    if (probe.kind === 'sqlite') {
      const window = Math.ceil((probe.accepted / Math.max(1, probe.spanSeconds)) * 65);
      const held = probe.peakEntries ?? Infinity;
      return {
        target: `DPoP replay rows on SQLite under ${n} proofs: ≤ 1.1 × one window's (rate × 65 s)`,
        pass: held <= window * 1.1,
        detail: `peak ${held.toLocaleString('en')} rows for a window of ${window.toLocaleString('en')}; file ${mb(probe.fileBytes ?? 0)} + WAL ${mb(probe.walBytes ?? 0)}`,
      };
    }
    const where = probe.kind === 'cache' ? 'MemoryReplayCache (no store)' : 'memory: store';
    return {
      target: `DPoP replay memory, ${where}, under ${n} proofs: heap ≤ ${mb(REPLAY_HEAP_BUDGET_BYTES)}`,
      pass: probe.heapUsedGrowth <= REPLAY_HEAP_BUDGET_BYTES,
      detail: `heap +${mb(probe.heapUsedGrowth)}, RSS +${mb(probe.rssGrowth)}; ${probe.accepted.toLocaleString('en')} accepted, ${probe.refused.toLocaleString('en')} refused (fail closed when full)`,
    };
  });
}
