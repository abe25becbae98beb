/**
 * A single-process DPoP replay cache (RFC 9449 §11.1): each proof (`replayKey`) is accepted once
 * until it expires (`replayUntil`). For several instances, use the store's shared
 * `claimDpopProof`, which has the same `claim(key, until, now)` contract.
 */

export interface MemoryReplayCacheOptions {
  /**
   * Most proofs remembered at once. Default 200,000: about 120 bytes each (a 43-character key, an
   * epoch-ms number and the Map's slot; 116 B measured on Node 20), so at most ≈ 24 MB, and room for
   * ≈ 3,000 proofs per second with the default 65-second window (60 s age + 5 s skew). When full
   * of unexpired proofs, `claim` refuses: a flood of proofs is answered by refusing, not by memory.
   */
  maxEntries?: number;
  /** Longest time, milliseconds, between two sweeps of expired entries while claims arrive. Default 60,000. */
  sweepIntervalMs?: number;
}

/** Size below which the cache is never swept for growth (sweeping a tiny map buys nothing). */
const MIN_SWEEP_SIZE = 1024;
/** When full, at most one sweep per this many ms: a full cache must not cost a scan per claim. */
const FULL_SWEEP_GAP_MS = 1000;

/**
 * @example
 * const replays = new MemoryReplayCache();
 * if (!replays.claim(proof.replayKey, proof.replayUntil, Date.now())) throw replayError();
 */
export class MemoryReplayCache {
  readonly maxEntries: number;
  private readonly sweepIntervalMs: number;
  private readonly entries = new Map<string, number>();
  /** Size at which the next growth sweep runs: twice the size the last sweep left. */
  private sweepAtSize = MIN_SWEEP_SIZE;
  private lastSweep = -Infinity;
  /** The earliest expiry of any entry (a lower bound): before it, a sweep frees nothing. */
  private earliestUntil = Infinity;

  constructor(options: MemoryReplayCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 200_000;
    this.sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError('MemoryReplayCache maxEntries: expected a positive integer.');
    }
    if (!(this.sweepIntervalMs > 0)) {
      throw new RangeError('MemoryReplayCache sweepIntervalMs: expected a positive number.');
    }
  }

  /** How many proofs are remembered now (expired ones included until the next sweep). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Records `key` until `until` (epoch ms) and returns true, or returns false when `key` is already
   * recorded and not expired at `now` (a replay) — or when the cache is full of unexpired entries
   * (fail closed: the proof is refused as if replayed).
   */
  claim(key: string, until: number, now: number): boolean {
    const existing = this.entries.get(key);
    if (existing !== undefined && existing > now) return false;
    const size = this.entries.size;
    const sweepDue =
      size >= this.maxEntries
        ? now >= this.earliestUntil && now - this.lastSweep >= FULL_SWEEP_GAP_MS
        : size >= this.sweepAtSize || now - this.lastSweep >= this.sweepIntervalMs;
    if (sweepDue) this.sweep(now);
    if (existing === undefined && this.entries.size >= this.maxEntries) return false;
    this.entries.set(key, until);
    if (until < this.earliestUntil) this.earliestUntil = until;
    return true;
  }

  private sweep(now: number): void {
    let earliest = Infinity;
    for (const [key, until] of this.entries) {
      if (until <= now) this.entries.delete(key);
      else if (until < earliest) earliest = until;
    }
    this.earliestUntil = earliest;
    this.lastSweep = now;
    this.sweepAtSize = Math.min(Math.max(2 * this.entries.size, MIN_SWEEP_SIZE), this.maxEntries);
  }
}
