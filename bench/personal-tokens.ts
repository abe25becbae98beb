/**
 * The registry at scale (issue 19): memory and start-up of a gate whose SQLite store holds many
 * live personal access tokens (100,000: 10,000 people × 10), against the same gate on a store
 * holding one. Each measurement is a fresh app process (`--expose-gc`, a full collection before
 * memory is read), so one never inherits another's heap; the two stores alternate, `rounds` times.
 *
 * The store is filled directly — one transaction of prepared INSERTs into `personal_tokens`,
 * after the store's own `init()` created the schema — since minting 100,000 tokens through the
 * service would take minutes and measure nothing more. Every row is a live token as the service
 * writes it (UUID `jti`, SHA-256 hash, expiry in 30 days); one of them is a real signed token, the
 * one the first request carries, minted with the claims the service mints.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import {
  PERSONAL_TOKEN_INSERT_COLUMNS,
  personalTokenInsertValues,
  placeholders,
} from '../lib/store/sql-columns.js';
import { SqliteStore } from '../lib/store/sqlite-store.js';
import { hashToken, tokenLast4 } from '../lib/store/token-hash.js';
import type { PersonalTokenRecord } from '../lib/store/types.js';
import { mintToken } from '../lib/tokens/mint-token.js';
import type { AppEntry } from './app-entry.js';
import { AppProcess } from './app-process.js';
import { BENCH_PATH } from './load.js';
import type { BenchOptions } from './options.js';
import type { AppStartMessage } from './protocol.js';
import { type TargetResult, median } from './report.js';
import { type BenchKeys, SELF_AUDIENCE, SELF_ISSUER, SELF_KID, keySetFromPrivateKey } from './tokens.js';

/** Live personal tokens per person (the shipped per-person limit). */
const TOKENS_PER_PERSON = 10;
/** The memory target, bytes of RSS per live token over the store holding one. */
const BYTES_PER_TOKEN_BUDGET = 1024;
/** The start-up target: process spawned to first request answered, ms. */
const STARTUP_BUDGET_MS = 2000;
const DAY_MS = 86_400_000;

/** One app process, started on one store. */
export interface ScaleSample {
  /** Spawn of the app process to the first request's answer, ms. */
  startupMs: number;
  /** `createJwtGate` called to the first request's answer, ms (the rest is Node and module loading). */
  gateMs: number;
  /** `createJwtGate` alone, ms. */
  createGateMs: number;
  /** Status of the first request (200: the registry knew the token live). */
  firstStatus: number;
  /** After start and the first request, after a full collection. */
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
}

export interface PersonalScaleResult {
  /** Live personal tokens in the full store, and how many people hold them. */
  liveTokens: number;
  people: number;
  /** Filling the full store, ms. */
  populateMs: number;
  /** Live tokens in the empty store: one, the first request's. */
  empty: ScaleSample[];
  full: ScaleSample[];
  /** (median full − median empty) ÷ the extra live tokens, bytes. */
  rssBytesPerToken: number;
  heapBytesPerToken: number;
}

/**
 * Fills two SQLite files (`liveTokens` and one live token), then starts the gate on each in turn,
 * `options.rounds` times, and measures start-up and memory.
 */
export async function measurePersonalScale(
  options: BenchOptions,
  entry: AppEntry,
  start: AppStartMessage,
  keys: BenchKeys,
): Promise<PersonalScaleResult> {
  const liveTokens = options.personalScaleTokens;
  const people = Math.ceil(liveTokens / TOKENS_PER_PERSON);
  const dir = mkdtempSync(path.join(tmpdir(), 'jwt-gate-bench-personal-'));
  try {
    const first = mintFirstToken(keys);
    const emptyFile = path.join(dir, 'one-token.db');
    const fullFile = path.join(dir, 'many-tokens.db');
    await fillStore(emptyFile, first.record, 0);
    const t = performance.now();
    await fillStore(fullFile, first.record, liveTokens - 1);
    const populateMs = performance.now() - t;

    const empty: ScaleSample[] = [];
    const full: ScaleSample[] = [];
    for (let round = 0; round < options.rounds; round++) {
      // Alternated, so a drift of the machine's speed favours neither store.
      const order = round % 2 === 0 ? (['empty', 'full'] as const) : (['full', 'empty'] as const);
      for (const which of order) {
        const file = which === 'empty' ? emptyFile : fullFile;
        const sample = await sampleStartup(
          entry,
          { ...start, store: 'sqlite', sqlitePath: file },
          first.token,
        );
        (which === 'empty' ? empty : full).push(sample);
        console.log(
          `  round ${round + 1}/${options.rounds} ${which === 'empty' ? '1 live token' : `${liveTokens.toLocaleString('en')} live tokens`}: first answer ${sample.firstStatus} after ${sample.startupMs.toFixed(0)} ms (gate ${sample.gateMs.toFixed(0)} ms), RSS ${mb(sample.rssBytes)} MB, heap ${mb(sample.heapUsedBytes)} MB used of ${mb(sample.heapTotalBytes)} MB, external ${mb(sample.externalBytes)} MB`,
        );
      }
    }
    const extra = liveTokens - 1;
    const perToken = (f: (s: ScaleSample) => number): number =>
      (median(full.map(f)) - median(empty.map(f))) / extra;
    return {
      liveTokens,
      people,
      populateMs,
      empty,
      full,
      rssBytesPerToken: perToken((s) => s.rssBytes),
      heapBytesPerToken: perToken((s) => s.heapUsedBytes),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One real personal access token of one person, and its row as the service writes it. */
function mintFirstToken(keys: BenchKeys): { token: string; record: PersonalTokenRecord } {
  const userName = personName(0);
  const minted = mintToken(
    {
      issuer: SELF_ISSUER,
      audience: SELF_AUDIENCE,
      key: keySetFromPrivateKey(keys.self.privateKey, SELF_KID).signing,
    },
    {
      subject: userName,
      email: `${userName}@open-metadata.org`,
      isBot: false,
      tokenType: 'PERSONAL_ACCESS',
      expiry: '30',
      scopes: [],
    },
  );
  return {
    token: minted.token,
    record: {
      jti: minted.jti,
      userName,
      tokenName: 'nightly export',
      tokenHash: hashToken(minted.token),
      last4: tokenLast4(minted.token),
      expiry: '30',
      issuedAt: minted.issuedAt,
      expiresAt: minted.expiresAt,
      issuedBy: userName,
      lastUsedAt: null,
      revokedAt: null,
      scopes: [],
    },
  };
}

/** `firstname.lastname`-like names of realistic length, distinct per person. */
function personName(i: number): string {
  return `person.${i.toString().padStart(5, '0')}`;
}

/**
 * Creates the store's schema (its own `init()`), then writes `first` and `more` live tokens of
 * `TOKENS_PER_PERSON` each per person, in one transaction.
 */
async function fillStore(file: string, first: PersonalTokenRecord, more: number): Promise<void> {
  const store = new SqliteStore({ path: file });
  await store.init();
  await store.close();
  const { default: Driver } = (await import('better-sqlite3')) as { default: typeof Database };
  const db = new Driver(file);
  try {
    const insert = db.prepare(
      `INSERT INTO personal_tokens (${PERSONAL_TOKEN_INSERT_COLUMNS}) VALUES (${placeholders(12, 'sqlite')})`,
    );
    const now = Date.now();
    db.transaction(() => {
      insert.run(...personalTokenInsertValues(first));
      // Token 0 of person 0 is `first`; the rest fill people in turn.
      for (let i = 1; i <= more; i++) {
        const userName = personName(Math.floor(i / TOKENS_PER_PERSON));
        const issuedAt = now - Math.floor(Math.random() * 20 * DAY_MS);
        insert.run(
          ...personalTokenInsertValues({
            jti: randomUUID(),
            userName,
            tokenName: `script ${i % TOKENS_PER_PERSON}`,
            tokenHash: createHash('sha256').update(randomBytes(32)).digest('hex'),
            last4: randomBytes(3).toString('base64url'),
            expiry: '30',
            issuedAt,
            expiresAt: issuedAt + 30 * DAY_MS,
            issuedBy: userName,
            lastUsedAt: null,
            revokedAt: null,
            scopes: [],
          }),
        );
      }
    })();
  } finally {
    db.close();
  }
}

/** Spawns the gate on one store, sends the first request at once, reads its memory, stops it. */
async function sampleStartup(entry: AppEntry, start: AppStartMessage, token: string): Promise<ScaleSample> {
  const spawnedAt = performance.now();
  const app = await AppProcess.start(start, { entry, nodeArgs: ['--expose-gc'] });
  try {
    const firstStatus = await get(app.url + BENCH_PATH, token);
    const answeredAt = Date.now();
    const startupMs = performance.now() - spawnedAt;
    const memory = await app.memory();
    if (!memory.collected) throw new Error('the app process ran without --expose-gc');
    const startup = app.startup!;
    return {
      startupMs,
      gateMs: answeredAt - startup.gateStartedAt,
      createGateMs: startup.gateReadyAt - startup.gateStartedAt,
      firstStatus,
      rssBytes: memory.rssBytes,
      heapUsedBytes: memory.heapUsedBytes,
      heapTotalBytes: memory.heapTotalBytes,
      externalBytes: memory.externalBytes,
    };
  } finally {
    await app.stop();
  }
}

/** One GET with a bearer token over `node:http` (already loaded: no client start-up measured). */
function get(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      })
      .once('error', reject);
  });
}

export function personalScaleTargets(result: PersonalScaleResult): TargetResult[] {
  const n = result.liveTokens.toLocaleString('en');
  const allAnswered = [...result.empty, ...result.full].every((s) => s.firstStatus === 200);
  const full = result.full.map((s) => s.startupMs);
  const empty = result.empty.map((s) => s.startupMs);
  return [
    {
      target: `memory: ≤ ${BYTES_PER_TOKEN_BUDGET} B of RSS per live personal token (${n} on SQLite, over one)`,
      pass: result.rssBytesPerToken <= BYTES_PER_TOKEN_BUDGET && allAnswered,
      detail: `${result.rssBytesPerToken.toFixed(0)} B of RSS, ${result.heapBytesPerToken.toFixed(0)} B of heap per token (RSS ${mb(median(result.full.map((s) => s.rssBytes)))} vs ${mb(median(result.empty.map((s) => s.rssBytes)))} MB, heap ${mb(median(result.full.map((s) => s.heapUsedBytes)))} vs ${mb(median(result.empty.map((s) => s.heapUsedBytes)))} MB; medians of ${result.full.length} processes each, after a full GC)${allAnswered ? '' : '; a first request was not a 200 — not a valid run'}`,
    },
    {
      target: `start-up with ${n} live personal tokens on SQLite: first request answered < ${STARTUP_BUDGET_MS / 1000} s`,
      pass: Math.max(...full) < STARTUP_BUDGET_MS && allAnswered,
      detail: `${rangeText(full)} ms from spawn (createJwtGate to the answer ${rangeText(result.full.map((s) => s.gateMs))} ms); one live token: ${rangeText(empty)} ms (${rangeText(result.empty.map((s) => s.gateMs))} ms)`,
    },
  ];
}

export function formatPersonalScale(result: PersonalScaleResult): string {
  const row = (label: string, samples: readonly ScaleSample[]): string =>
    `  ${label.padEnd(24)} first answer ${rangeText(samples.map((s) => s.startupMs)).padStart(11)} ms from spawn, createJwtGate ${rangeText(samples.map((s) => s.createGateMs)).padStart(9)} ms; RSS ${mb(median(samples.map((s) => s.rssBytes)))} MB, heap ${mb(median(samples.map((s) => s.heapUsedBytes)))} MB used of ${mb(median(samples.map((s) => s.heapTotalBytes)))} MB`;
  return [
    `live personal tokens on SQLite (${result.liveTokens.toLocaleString('en')} = ${result.people.toLocaleString('en')} people × ${TOKENS_PER_PERSON}, filled in ${result.populateMs.toFixed(0)} ms; fresh process each, --expose-gc, GC before reading; medians, ranges over ${result.full.length} processes):`,
    row('1 live token', result.empty),
    row(`${result.liveTokens.toLocaleString('en')} live tokens`, result.full),
    `  per live token: ${result.rssBytesPerToken.toFixed(0)} B of RSS, ${result.heapBytesPerToken.toFixed(0)} B of heap`,
  ].join('\n');
}

/** `median (min–max)`, or the one value. */
function rangeText(values: readonly number[]): string {
  const med = median(values).toFixed(0);
  if (values.length < 2) return med;
  return `${med} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
}

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
