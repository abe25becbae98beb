/**
 * A remote JWKS key source that survives abuse and outages (docs/security.md): one fetch in flight,
 * a cooldown for unknown `kid`s, `Cache-Control` honoured within bounds, bounded stale-if-error,
 * a backoff while the key server fails. Every instance keeps its own state: one source's
 * slowness or flood never touches another.
 */
import type { KeyObject } from 'node:crypto';
import type { AsymmetricAlgorithm, JwksFetchConfiguration } from '../../config/types.js';
import { InvalidTokenError, ServiceUnavailableError } from '../../errors.js';
import { cacheLifetimeSeconds } from './cache-lifetime.js';
import { importVerificationKeys } from './import-verification-keys.js';
import type { VerificationKey } from './import-verification-keys.js';
import { countKeysFor, type FetchedKeys, onlyKeyFor, replaceFetchedKeys } from './fetched-keys.js';
import { fetchJwks } from './fetch-jwks.js';
import { MissingKids } from './missing-kids.js';
import { type RemoteJwksSourceOptions, validateRemoteJwksOptions } from './remote-jwks-options.js';

/** A snapshot of a source's state, for health endpoints and logs. */
export interface RemoteJwksSourceHealth {
  url: string;
  /** Tokens can be verified now: keys are held and fresh or within their stale-if-error window. */
  healthy: boolean;
  /** Keys usable for verification now (0 once the stale-if-error window has ended). */
  keyCount: number;
  /** When the last fetch (successful or not) started, ms since the epoch. */
  lastFetchAt: number | null;
  /** Seconds since the held keys were fetched. */
  keysAgeSeconds: number | null;
  /** Why the last fetch failed; `null` once a fetch succeeds. */
  lastError: string | null;
  /** HTTP requests made to the key server so far. */
  fetchCount: number;
  /** The held keys are past their cache lifetime: the next lookup refreshes them; they serve only while that fails. */
  stale: boolean;
}

/** Listener of {@link RemoteJwksSource.onKeysChanged}: `kid`s no longer trusted as before. */
export type KeysChangedListener = (removedKids: string[]) => void;

/** Failures back off exponentially from the cooldown up to this, seconds. */
const MAX_FAILURE_BACKOFF_SECONDS = 300;
/** Even with a zero cooldown, a failing server is not asked again within this, seconds. */
const MIN_FAILURE_BACKOFF_SECONDS = 1;

/**
 * The keys published at one JWKS URL, fetched lazily (or by {@link prefetch}) and cached.
 *
 * @example
 * const source = new RemoteJwksSource({ url, algorithms: ['RS256'], fetch: config.verificationConfiguration.jwks });
 * const key = source.getKeySync(header.kid, header.alg) ?? (await source.getKey(header.kid, header.alg));
 */
export class RemoteJwksSource {
  readonly url: string;
  readonly name: string;
  private readonly target: URL;
  private readonly algorithmList: readonly AsymmetricAlgorithm[];
  private readonly algorithms: ReadonlySet<string>;
  private readonly config: JwksFetchConfiguration;
  private readonly now: () => number;
  private readonly listeners = new Set<KeysChangedListener>();
  private readonly missingKids = new MissingKids();

  private fetched: FetchedKeys | null = null;
  private keysFetchedAt: number | null = null;
  /** Keys are fresh before this (ms), then usable while refreshes fail until `staleUntil`. */
  private freshUntil = 0;
  private staleUntil = 0;
  private lastAttemptAt: number | null = null;
  /** No refresh for an unknown `kid` before this (ms). */
  private cooldownUntil = 0;
  /** After a failure, no fetch at all before this (ms). */
  private retryAt = 0;
  private failures = 0;
  private lastError: string | null = null;
  private fetches = 0;
  private inFlight: Promise<void> | null = null;
  private abortInFlight: AbortController | null = null;
  private closed = false;

  constructor(options: RemoteJwksSourceOptions) {
    this.target = validateRemoteJwksOptions(options);
    this.url = options.url;
    this.name = options.name ?? options.url;
    this.algorithmList = [...options.algorithms];
    this.algorithms = new Set(options.algorithms);
    this.config = { ...options.fetch };
    this.now = options.now ?? Date.now;
  }

  /** HTTP requests made to the key server so far. */
  get fetchCount(): number {
    return this.fetches;
  }

  /**
   * The cached key for `kid` and `alg` if it can be served without a fetch; `undefined` otherwise
   * (then call {@link getKey}). Synchronous and allocation-free: the per-request fast path.
   */
  getKeySync(kid: string | undefined, alg: string): KeyObject | undefined {
    const fetched = this.fetched;
    if (fetched === null || !this.servableWithoutFetch(this.now())) return undefined;
    if (kid !== undefined) {
      const entry = fetched.byKid.get(kid);
      return entry !== undefined && entry.algorithms.has(alg) ? entry.key : undefined;
    }
    return onlyKeyFor(fetched, alg);
  }

  /**
   * The key for `kid` (or, when the token has no `kid`, the source's only key for `alg`).
   * Fetches when the keys are missing or expired, or — at most once per cooldown — when `kid` is
   * unknown. Rejects with `InvalidTokenError` (`ERR_TOKEN_KEY_UNKNOWN`, `ERR_TOKEN_ALG_NOT_ALLOWED`)
   * or `ServiceUnavailableError` (`ERR_KEYS_UNAVAILABLE`, with `Retry-After`).
   */
  async getKey(kid: string | undefined, alg: string): Promise<KeyObject> {
    if (this.closed)
      throw new ServiceUnavailableError('ERR_KEYS_UNAVAILABLE', `the key source ${this.url} is closed`);
    if (!this.algorithms.has(alg)) {
      throw new InvalidTokenError(
        'ERR_TOKEN_ALG_NOT_ALLOWED',
        `alg ${describe(alg)} is not accepted for keys of ${this.url}`,
      );
    }
    const now = this.now();
    if (this.servableWithoutFetch(now)) {
      const key = this.pick(kid, alg);
      if (key !== undefined) return key;
      if (this.inFlight === null) {
        // While the server fails we cannot tell a new kid from a junk one: say "try later".
        if (now < this.retryAt) throw this.unavailable(now);
        if (now < this.cooldownUntil || this.missingKids.has(kid, now)) throw this.unknownKey(kid, alg);
      }
    } else if (this.inFlight === null && now < this.retryAt) {
      throw this.unavailable(now);
    }

    try {
      await this.refresh();
    } catch (err) {
      const after = this.now();
      // Stale-if-error: the old keys keep serving until their window ends.
      const key = this.fetched !== null && after < this.staleUntil ? this.pick(kid, alg) : undefined;
      if (key !== undefined) return key;
      throw this.unavailable(after, err);
    }
    const key = this.pick(kid, alg);
    if (key !== undefined) return key;
    this.missingKids.remember(kid, this.now() + this.config.cooldownSeconds * 1000);
    throw this.unknownKey(kid, alg);
  }

  /** Fetches the keys now (at start-up). Never throws: a failure shows in {@link health}. */
  async prefetch(): Promise<void> {
    if (this.closed) return;
    try {
      await this.refresh();
    } catch {
      // Recorded in lastError; requests will retry after the backoff.
    }
  }

  health(): RemoteJwksSourceHealth {
    const now = this.now();
    const usable = this.fetched !== null && now < this.staleUntil;
    return {
      url: this.url,
      healthy: usable,
      keyCount: usable && this.fetched !== null ? this.fetched.all.length : 0,
      lastFetchAt: this.lastAttemptAt,
      keysAgeSeconds:
        this.keysFetchedAt === null ? null : Math.max(0, Math.floor((now - this.keysFetchedAt) / 1000)),
      lastError: this.lastError,
      fetchCount: this.fetches,
      stale: this.fetched !== null && now >= this.freshUntil,
    };
  }

  /**
   * Calls `listener` after a refresh with the `kid`s whose key was removed or replaced at the
   * source, so caches of tokens verified with them can be dropped. Returns an unsubscribe function.
   */
  onKeysChanged(listener: KeysChangedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Aborts a fetch in flight and drops the keys; later `getKey` calls reject. */
  close(): void {
    this.closed = true;
    this.abortInFlight?.abort();
    this.listeners.clear();
    this.missingKids.clear();
    this.fetched = null;
  }

  private servableWithoutFetch(now: number): boolean {
    // Past freshness, serve stale only while a refresh is not allowed (failure backoff).
    return this.fetched !== null && (now < this.freshUntil || (now < this.staleUntil && now < this.retryAt));
  }

  /** The key to use, `undefined` when none (yet); throws when the token cannot match any key. */
  private pick(kid: string | undefined, alg: string): KeyObject | undefined {
    const fetched = this.fetched;
    if (fetched === null) return undefined;
    if (kid === undefined) {
      const fitting = countKeysFor(fetched, alg);
      if (fitting > 1) {
        throw new InvalidTokenError(
          'ERR_TOKEN_KEY_UNKNOWN',
          `the token has no kid and ${this.url} publishes ${fitting} keys for ${describe(alg)}`,
        );
      }
      return onlyKeyFor(fetched, alg);
    }
    const entry = fetched.byKid.get(kid);
    if (entry === undefined) return undefined;
    if (!entry.algorithms.has(alg)) {
      throw new InvalidTokenError(
        'ERR_TOKEN_ALG_NOT_ALLOWED',
        `the key ${describe(kid)} of ${this.url} is not for alg ${describe(alg)}`,
      );
    }
    return entry.key;
  }

  /** Single flight: every caller shares the fetch in progress. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetchAndStore().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async fetchAndStore(): Promise<void> {
    const startedAt = this.now();
    this.lastAttemptAt = startedAt;
    this.cooldownUntil = startedAt + this.config.cooldownSeconds * 1000;
    this.fetches++;
    const abort = new AbortController();
    this.abortInFlight = abort;
    try {
      const response = await fetchJwks(this.target, this.config, abort.signal);
      const imported = importVerificationKeys(response.keys, this.algorithmList, this.config.maxKeys);
      if (imported.keys.length === 0) {
        // Not an empty key set: an outage-like error, so stale-if-error keeps the old keys.
        throw new Error(
          `the key server at ${this.url} published no usable signing key (${imported.ignored} ignored)`,
        );
      }
      if (!this.closed) {
        this.store(imported.keys, cacheLifetimeSeconds(response.cacheControl, this.config), startedAt);
      }
    } catch (err) {
      this.recordFailure(err);
      throw err;
    } finally {
      if (this.abortInFlight === abort) this.abortInFlight = null;
    }
  }

  private store(keys: readonly VerificationKey[], lifetimeSeconds: number, fetchedAt: number): void {
    const { fetched, removedKids } = replaceFetchedKeys(this.fetched, keys);
    this.fetched = fetched;
    this.keysFetchedAt = fetchedAt;
    // Freshness counts from when the request started (conservative, like RFC 9111 §4.2.3).
    this.freshUntil = fetchedAt + lifetimeSeconds * 1000;
    this.staleUntil = this.freshUntil + this.config.staleIfErrorSeconds * 1000;
    this.retryAt = 0;
    this.failures = 0;
    this.lastError = null;
    if (removedKids.length > 0) this.notify(removedKids);
  }

  private recordFailure(err: unknown): void {
    this.failures++;
    // 1 s, 2 s, 4 s, … up to max(cooldown, 300 s): a key server that was down for a moment (a
    // restart) is retried soon, one that stays down is asked ever more rarely — never per request.
    const backoff = Math.min(
      MIN_FAILURE_BACKOFF_SECONDS * 2 ** (this.failures - 1),
      Math.max(this.config.cooldownSeconds, MAX_FAILURE_BACKOFF_SECONDS),
    );
    this.retryAt = this.now() + backoff * 1000;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  private notify(removedKids: string[]): void {
    for (const listener of this.listeners) {
      try {
        listener(removedKids);
      } catch {
        // A listener's bug must not break key refreshing for every request.
      }
    }
  }

  private unknownKey(kid: string | undefined, alg: string): InvalidTokenError {
    const which =
      kid === undefined ? `no kid and no single key for ${describe(alg)}` : `unknown kid ${describe(kid)}`;
    return new InvalidTokenError('ERR_TOKEN_KEY_UNKNOWN', `the token names ${which} at ${this.url}`);
  }

  private unavailable(now: number, cause?: unknown): ServiceUnavailableError {
    const retryAfterSeconds = Math.max(1, (this.retryAt - now) / 1000);
    const reason = this.lastError ?? 'no keys have been fetched yet';
    return new ServiceUnavailableError(
      'ERR_KEYS_UNAVAILABLE',
      `the signing keys of ${this.url} are unavailable: ${reason}`,
      retryAfterSeconds,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** A token-supplied value, quoted and cut short for messages. */
function describe(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
