import { type KeyObject, hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { KeySource } from './key-source.js';
import type { Principal } from './principal.js';
import { VerifiedFingerprints } from './verified-fingerprints.js';

/** What a cached verification remembers: who, until when, and with which key of which source. */
export interface CachedVerification {
  readonly principal: Principal;
  /** Epoch ms after which the entry is dead: the token's `exp` (or never, for Unlimited). */
  readonly validUntil: number;
  readonly source: KeySource;
  readonly kid: string | undefined;
  readonly alg: string;
  /** The key object that verified the signature. */
  readonly key: KeyObject;
}

/**
 * Verified-token cache (docs/design.md, docs/security.md): keyed on a SHA-256 of the exact token
 * string, so no two tokens can share an entry (fast-jwt's cache keyed on parts and collided).
 * Bounded LRU. An entry never outlives the token's `exp`, nor the key that verified it: a hit
 * counts only while the source still holds that very key object (a key rotated out, or one whose
 * cache lifetime ran out and must be re-fetched, sends the token through full verification
 * again). Callers only add tokens that are valid now, never a not-yet-valid one.
 *
 * Tokens that never come back cost nothing here (fast-jwt's cache makes them slower): a token is
 * looked up only once it has been verified before, and stored on its second verification. Which
 * tokens were verified is kept as fingerprints ({@link VerifiedFingerprints}, sized for
 * `maxEntries` tokens): a token whose fingerprint was pushed out is simply verified again, and one
 * that matches another's by chance only costs a lookup under its SHA-256, which decides. Only
 * verified tokens write fingerprints, so forged ones can neither fill the cache nor evict it.
 */
export class VerifiedTokenCache {
  readonly #entries: LRUCache<string, CachedVerification>;
  readonly #verified: VerifiedFingerprints;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache<string, CachedVerification>({ max: maxEntries });
    this.#verified = new VerifiedFingerprints(maxEntries);
  }

  /**
   * Whether `token` may be in the cache: it has been verified before. When false, the caller
   * verifies it without a lookup (and without hashing it).
   */
  seen(token: string): boolean {
    return this.#verified.seen(token);
  }

  /**
   * Records that `token` was just verified; true when it had been verified before, and should now
   * be stored with {@link set}.
   */
  admit(token: string): boolean {
    return this.#verified.record(token);
  }

  /** The cache key of a token. */
  static keyOf(this: void, token: string): string {
    return hash('sha256', token, 'base64');
  }

  /** The principal of a token verified earlier, while its token and its key are still good. */
  get(cacheKey: string, nowMs: number): Principal | undefined {
    const entry = this.#entries.get(cacheKey);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.validUntil || !stillHolds(entry)) {
      this.#entries.delete(cacheKey);
      return undefined;
    }
    return entry.principal;
  }

  set(
    cacheKey: string,
    principal: Principal,
    source: KeySource,
    kid: string | undefined,
    alg: string,
    key: KeyObject,
  ): void {
    const validUntil = principal.expiresAt ?? Number.POSITIVE_INFINITY;
    this.#entries.set(cacheKey, { principal, validUntil, source, kid, alg, key });
  }

  /** Drops every entry verified by one of `kids` of `source` (they left the source's JWKS). */
  dropKey(source: string, kids: readonly string[]): void {
    for (const [cacheKey, entry] of this.#entries.entries()) {
      if (entry.source.name === source && (entry.kid === undefined || kids.includes(entry.kid))) {
        this.#entries.delete(cacheKey);
      }
    }
  }

  /** Drops the entries of one bot token (revoked or replaced). */
  dropTokenId(jti: string): void {
    for (const [cacheKey, entry] of this.#entries.entries()) {
      if (entry.principal.tokenId === jti) this.#entries.delete(cacheKey);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** The source still serves the very key object that verified the entry (a lookup error: no). */
function stillHolds(entry: CachedVerification): boolean {
  try {
    return entry.source.getKeySync(entry.kid, entry.alg) === entry.key;
  } catch {
    return false;
  }
}
