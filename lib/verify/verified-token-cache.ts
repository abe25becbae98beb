import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from './principal.js';

interface Entry {
  principal: Principal;
  /** Epoch ms after which the entry is dead: the token's `exp` (or never, for Unlimited). */
  validUntil: number;
  source: string;
  kid: string | undefined;
}

/**
 * Verified-token cache (DESIGN §2.10): keyed on a SHA-256 of the exact token string, so no two
 * tokens can share an entry (fast-jwt's cache keyed on parts and collided). Bounded LRU; an entry
 * never outlives the token's `exp`; callers only add tokens that are valid now (never a
 * not-yet-valid one). Entries of a key that stops being trusted are dropped.
 */
export class VerifiedTokenCache {
  readonly #entries: LRUCache<string, Entry>;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache<string, Entry>({ max: maxEntries });
  }

  /** The cache key of a token. */
  static keyOf(token: string): string {
    return hash('sha256', token, 'base64');
  }

  get(key: string, nowMs: number): Principal | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.validUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(key: string, principal: Principal, kid: string | undefined): void {
    this.#entries.set(key, {
      principal,
      validUntil: principal.expiresAt ?? Number.POSITIVE_INFINITY,
      source: principal.source,
      kid,
    });
  }

  /** Drops every entry verified by `kid` of `source` (the key left the source's JWKS). */
  dropKey(source: string, kids: readonly string[]): void {
    for (const [key, entry] of this.#entries.entries()) {
      if (entry.source === source && (entry.kid === undefined || kids.includes(entry.kid)))
        this.#entries.delete(key);
    }
  }

  /** Drops the entries of one bot token (revoked or replaced). */
  dropTokenId(jti: string): void {
    for (const [key, entry] of this.#entries.entries()) {
      if (entry.principal.tokenId === jti) this.#entries.delete(key);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
