import { randomInt } from 'node:crypto';

/** Fingerprints per bucket. */
const WAYS = 4;
/** Characters of the token's end that make its fingerprint (72 bits of signature in base64url). */
const FINGERPRINT_CHARS = 12;
const MIN_BUCKETS = 256;
/** 2^18 buckets of 4: a 4 MB table at most. */
const MAX_BUCKETS = 2 ** 18;

/**
 * Which tokens were verified lately, as 32-bit fingerprints of their last characters (the
 * signature), seeded per process so no one can work out in advance which tokens share a bucket.
 * A bucket holds the fingerprints of its 4 most recently seen tokens; with at least as many
 * buckets as `capacity`, a working set of `capacity` tokens rarely loses one. A fingerprint says
 * "maybe": two tokens can share one, and a caller that acts on a match must check the token itself.
 */
export class VerifiedFingerprints {
  /** `WAYS` slots per bucket, most recent first; 0 is empty. */
  readonly #slots: Uint32Array;
  readonly #bucketMask: number;
  readonly #seed = randomInt(2 ** 32) | 0;

  constructor(capacity: number) {
    let buckets = MIN_BUCKETS;
    while (buckets < capacity && buckets < MAX_BUCKETS) buckets *= 2;
    this.#slots = new Uint32Array(buckets * WAYS);
    this.#bucketMask = buckets - 1;
  }

  /** Whether a token with this fingerprint was recorded; a match becomes its bucket's most recent. */
  seen(token: string): boolean {
    return this.#promote(this.#fingerprint(token));
  }

  /** Records `token` as verified; true when its fingerprint was already there. */
  record(token: string): boolean {
    const fingerprint = this.#fingerprint(token);
    if (this.#promote(fingerprint)) return true;
    const start = (fingerprint & this.#bucketMask) * WAYS;
    this.#slots.copyWithin(start + 1, start, start + WAYS - 1);
    this.#slots[start] = fingerprint;
    return false;
  }

  /** Moves `fingerprint` to the front of its bucket; false when it is not there. */
  #promote(fingerprint: number): boolean {
    const slots = this.#slots;
    const start = (fingerprint & this.#bucketMask) * WAYS;
    for (let i = start; i < start + WAYS; i++) {
      if (slots[i] !== fingerprint) continue;
      for (let j = i; j > start; j--) slots[j] = slots[j - 1]!;
      slots[start] = fingerprint;
      return true;
    }
    return false;
  }

  /** A 32-bit mix of the token's length and last characters, never 0. */
  #fingerprint(token: string): number {
    let h = this.#seed ^ token.length;
    for (let i = Math.max(0, token.length - FINGERPRINT_CHARS); i < token.length; i++) {
      h = Math.imul(h ^ token.charCodeAt(i), 0x9e3779b1);
      h ^= h >>> 15;
    }
    return h >>> 0 || 1;
  }
}
