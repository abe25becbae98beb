/**
 * One measurement of the DPoP replay claim under many distinct proofs (issue 20), run by
 * dpop-replay.ts in a fresh `node --expose-gc` process so that no other heap is counted:
 *
 *   node --expose-gc --import tsx bench/dpop-replay-probe.ts <kind> <proofs> [dir]
 *
 * `cache`: the shipped `MemoryReplayCache` (the replay cache of a gate without a store), every
 * proof claimed within one window. `memory-store`: `MemoryStore.claimDpopProof` (a gate on
 * `memory:`), the same. `sqlite`: `SqliteStore.claimDpopProof` on a fresh file in `dir`, with the
 * clock advancing at `SQLITE_RATE` proofs a second, so that the window holds only the last 65 s.
 * Prints one line of JSON (`ProbeResult`).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { MemoryReplayCache } from '../lib/dpop/replay-cache.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { type ProbeKind, type ProbeResult, SAMPLE_EVERY, SQLITE_RATE, WINDOW_MS } from './dpop-replay.js';

/** The replay key the gate claims: base64url(SHA-256(jkt + "." + jti)), 43 characters. */
function replayKey(i: number): string {
  return createHash('sha256').update(`bench-jkt.${i}`).digest('base64url');
}

function collect(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage();
}

async function probe(kind: ProbeKind, proofs: number, dir: string): Promise<ProbeResult> {
  const start = Date.now();
  let claim: (key: string, until: number, now: number) => boolean | Promise<boolean>;
  let count: () => number | null = () => null;
  let cache: MemoryReplayCache | null = null;
  let store: SqliteStore | MemoryStore | null = null;
  let file: string | null = null;
  if (kind === 'cache') {
    const replays = new MemoryReplayCache();
    cache = replays;
    claim = (key, until, now) => replays.claim(key, until, now);
    count = () => replays.size;
  } else if (kind === 'memory-store') {
    const memory = new MemoryStore();
    await memory.init();
    store = memory;
    claim = (key, until, now) => memory.claimDpopProof(key, until, now);
  } else {
    file = path.join(dir, 'dpop.db');
    const sqlite = new SqliteStore({ path: file });
    await sqlite.init();
    store = sqlite;
    claim = (key, until, now) => sqlite.claimDpopProof(key, until, now);
    // A second connection, as another instance would read the shared file.
    const reader = new Database(file, { readonly: true });
    const rows = reader.prepare('SELECT COUNT(*) AS n FROM dpop_proofs');
    count = () => (rows.get() as { n: number }).n;
  }
  const before = collect();
  let peakRss = before.rss;
  let peakEntries = 0;
  let accepted = 0;
  const began = performance.now();
  // SQLite: the clock advances with the claims; the others: every proof within one window.
  const stepMs = kind === 'sqlite' ? 1000 / SQLITE_RATE : 0;
  for (let i = 0; i < proofs; i++) {
    const now = start + Math.floor(i * stepMs);
    const fresh = claim(replayKey(i), now + WINDOW_MS, now);
    if (typeof fresh === 'boolean' ? fresh : await fresh) accepted++;
    if ((i + 1) % SAMPLE_EVERY === 0) {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      peakEntries = Math.max(peakEntries, count() ?? 0);
    }
  }
  const elapsed = performance.now() - began;
  const entries = count();
  const after = collect();
  let fileBytes: number | null = null;
  let walBytes: number | null = null;
  let freePages: number | null = null;
  if (file !== null) {
    fileBytes = statSync(file).size;
    walBytes = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    const reader = new Database(file, { readonly: true });
    freePages = reader.pragma('freelist_count', { simple: true }) as number;
    reader.close();
  }
  const result: ProbeResult = {
    kind,
    proofs,
    accepted,
    refused: proofs - accepted,
    entries,
    peakEntries: entries === null ? null : Math.max(peakEntries, entries),
    maxEntries: cache?.maxEntries ?? null,
    spanSeconds: (proofs * stepMs) / 1000,
    heapUsedGrowth: after.heapUsed - before.heapUsed,
    rssGrowth: after.rss - before.rss,
    peakRssGrowth: Math.max(peakRss, after.rss) - before.rss,
    fileBytes,
    walBytes,
    freePages,
    microsPerClaim: (elapsed * 1000) / proofs,
  };
  await store?.close();
  return result;
}

const [kind, proofs, dir] = process.argv.slice(2);
if (kind !== 'cache' && kind !== 'memory-store' && kind !== 'sqlite') {
  throw new Error('usage: dpop-replay-probe.ts cache|memory-store|sqlite <proofs> [dir]');
}
const result = await probe(kind, Number(proofs), dir ?? '.');
process.stdout.write(`${JSON.stringify(result)}\n`);
