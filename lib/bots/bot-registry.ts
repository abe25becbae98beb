import type { BotRecord, BotStore, BotTokenRecord, StoreChange } from '../store/types.js';
import { ALL_BOTS } from '../store/types.js';
import type { BotTokenGuard, BotTokenState } from '../verify/bot-token-guard.js';

export interface BotRegistryOptions {
  store: BotStore;
  /**
   * Called with the `jti` of a token that stopped being its bot's current one (replaced, revoked,
   * bot deleted), so cached verifications of it can be dropped at once.
   */
  onTokenRetired?: (jti: string) => void;
  /**
   * Called with the `jti` of a bot's current token when the bot's allowed scopes change, so cached
   * verifications of it (whose principals hold the old scopes) can be dropped at once.
   */
  onScopesChanged?: (jti: string) => void;
  /** How often buffered `last used at` times are written to the store, ms. Default 10000. */
  flushIntervalMs?: number;
  /** First retry delay after a failed reload, ms; doubles up to `maxRetryMs`. Default 250. */
  minRetryMs?: number;
  /** Longest retry delay after failed reloads, ms. Default 5000. */
  maxRetryMs?: number;
}

/** Settles a caller waiting for a reload; `error` when the reload failed. */
type Waiter = (error?: Error) => void;

/** More buffered uses than this trigger an early flush (a bound, not a tuning knob). */
const MAX_BUFFERED_USES = 10_000;

/** Least time between two store reads caused by one token newer than we know, ms. */
const REFRESH_INTERVAL_MS = 1000;

/** Bound of the per-token bookkeeping above (cleared when reached; it only limits re-reads). */
const MAX_TRACKED_TOKENS = 10_000;

/**
 * Which token is each bot's current one, held in memory so the per-request check is two lookups
 * (docs/security.md#revocation). Warmed from the store at `init()`, then kept current by the store's change
 * notifications — this instance's writes at once; other instances' before the next check when the
 * store can deliver them on demand (`syncChanges`, SQLite), else within its delivery time
 * (PostgreSQL). A bot with a change told but not yet re-read is `unknown`, never answered from the
 * old state. Reloads run one at a time, in order, so an older read never overwrites a newer one.
 *
 * Fails closed: while the store reports its change feed lost (`onHealth(false)`), until a full
 * reload started after it came back succeeds, every bot is `unavailable`; a bot whose own reload
 * failed is `unavailable` until a retry succeeds.
 */
export class BotRegistry implements BotTokenGuard {
  readonly #store: BotStore;
  readonly #onTokenRetired: (jti: string) => void;
  readonly #onScopesChanged: (jti: string) => void;
  readonly #flushIntervalMs: number;
  readonly #minRetryMs: number;
  readonly #maxRetryMs: number;

  /** botName → its current token (jti, issued at epoch ms). */
  readonly #current = new Map<string, { jti: string; issuedAt: number }>();
  /** botName → its allowed scopes, frozen: shared by every principal of its tokens. */
  readonly #allowed = new Map<string, readonly string[]>();
  /** jti → when a request carrying it last caused a re-read of its bot (epoch ms). */
  readonly #refreshedAt = new Map<string, number>();
  /** jtis seen retired (replaced, revoked, bot deleted): refused without a re-read. */
  readonly #retired = new Set<string>();
  /** Nothing is known-fresh: before init, during a store outage, after a failed full reload. */
  #allStale = true;
  /** Bots whose last reload failed. */
  readonly #staleBots = new Set<string>();
  /** The store's change feed is up (stores without `onHealth` always are). */
  #feedUp = true;
  /** Bumped at each outage: a full reload clears staleness only if no outage began meanwhile. */
  #outages = 0;

  /** Changes told so far; a reload covers the changes told before it began reading. */
  #changesTold = 0;
  /** botName → `#changesTold` at its latest change not yet covered by an applied reload. */
  readonly #unappliedBots = new Map<string, number>();
  /** `#changesTold` at the latest `ALL_BOTS` change not yet covered by a full reload, else 0. */
  #unappliedAll = 0;
  /** Settled when the reload running or next to run ends, applied or not. */
  #reloadEndWaiters: Array<() => void> = [];

  #fullWanted = false;
  #fullWaiters: Waiter[] = [];
  readonly #pending = new Map<string, Waiter[]>();
  #draining = false;
  #retryFull = false;
  readonly #retryBots = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs: number;

  readonly #uses = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(options: BotRegistryOptions) {
    this.#store = options.store;
    this.#onTokenRetired = options.onTokenRetired ?? (() => {});
    this.#onScopesChanged = options.onScopesChanged ?? (() => {});
    this.#flushIntervalMs = options.flushIntervalMs ?? 10_000;
    this.#minRetryMs = options.minRetryMs ?? 250;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
    this.#retryMs = this.#minRetryMs;
  }

  /** Subscribes to the store's changes, then loads every current token. Rejects if the load fails. */
  async init(): Promise<void> {
    if (this.#unsubscribe.length > 0) return;
    // Subscribed before the load, so no change between the load and the subscription is missed.
    this.#unsubscribe.push(this.#store.onChange((change) => this.#changed(change)));
    if (this.#store.onHealth) this.#unsubscribe.push(this.#store.onHealth((up) => this.#health(up)));
    this.#flushTimer = setInterval(() => void this.flush(), this.#flushIntervalMs);
    this.#flushTimer.unref();
    await this.#enqueueFull();
  }

  /**
   * The per-request check: `valid` only for the bot's current token, when its state is known.
   * First the store delivers changes other instances committed (`syncChanges`, where it can): a
   * bot with a change not yet re-read is `unknown`, and the caller's `refresh()` waits for that
   * re-read. A token issued no earlier than the current one we know of may have been minted a
   * moment ago on another instance whose change we cannot hear yet: `unknown` as well — at most
   * once a second per token, and never for a token seen retired. Only tokens signed by our key get
   * here, so this costs the store at most one read a second per token ever minted.
   */
  check(botName: string, jti: string | null, nowMs: number, issuedAtMs?: number): BotTokenState {
    try {
      this.#store.syncChanges?.();
    } catch {
      // Others' changes cannot be read: what we hold may be stale.
      return 'unavailable';
    }
    if (this.#allStale || this.#staleBots.has(botName)) return 'unavailable';
    // Not the rate-limited path below: a just-issued token must not be refused while its bot reloads.
    if (this.#unappliedAll !== 0 || this.#unappliedBots.has(botName))
      return jti === null || this.#retired.has(jti) ? 'revoked' : 'unknown';
    // Expiry is the verifier's (with clock tolerance); here only "is this the current token".
    const current = this.#current.get(botName);
    if (jti !== null && current?.jti === jti) return 'valid';
    if (jti === null || issuedAtMs === undefined || this.#retired.has(jti)) return 'revoked';
    if (current !== undefined && issuedAtMs < current.issuedAt) return 'revoked';
    if (nowMs - (this.#refreshedAt.get(jti) ?? Number.NEGATIVE_INFINITY) < REFRESH_INTERVAL_MS)
      return 'revoked';
    if (this.#refreshedAt.size >= MAX_TRACKED_TOKENS) this.#refreshedAt.clear();
    this.#refreshedAt.set(jti, nowMs);
    return 'unknown';
  }

  /**
   * After `check()` said `unknown`: waits until the changes told for this bot (or for all bots) are
   * applied, or, when none is, re-reads the bot. Never rejects; resolves early when a reload fails
   * (`check()` then says `unavailable`).
   */
  async refresh(botName: string): Promise<void> {
    if (!this.#unapplied(botName)) return this.reloadBot(botName);
    // Each unapplied change has a reload queued or running behind it, so every round makes progress.
    while (!this.#closed && !this.#allStale && !this.#staleBots.has(botName) && this.#unapplied(botName)) {
      await new Promise<void>((resolve) => this.#reloadEndWaiters.push(resolve));
    }
  }

  /**
   * The bot's allowed scopes as last read from the store (frozen; `undefined` for an unknown bot):
   * what its tokens may hold, and all that a token minted before scopes existed holds. A lookup,
   * no allocation.
   */
  allowedScopes(botName: string): readonly string[] | undefined {
    return this.#allowed.get(botName);
  }

  /** Buffers a use; written in batches by `flush()` (every `flushIntervalMs` and at close). */
  noteUse(jti: string, nowMs: number): void {
    const seen = this.#uses.get(jti);
    if (seen === undefined || nowMs > seen) this.#uses.set(jti, nowMs);
    if (this.#uses.size > MAX_BUFFERED_USES) void this.flush();
  }

  /** A use of `jti` noted but not yet written to the store, epoch ms. */
  pendingLastUse(jti: string): number | undefined {
    return this.#uses.get(jti);
  }

  /** Every bot's token state is known (false during a store outage or after failed reloads). */
  get healthy(): boolean {
    return this.#feedUp && !this.#allStale && this.#staleBots.size === 0;
  }

  /**
   * Re-reads one bot from the store and resolves once a read that started after this call is
   * applied. Never rejects: a failed read marks the bot `unavailable` and is retried.
   */
  reloadBot(botName: string): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#closed) {
        resolve();
        return;
      }
      const waiters = this.#pending.get(botName) ?? [];
      waiters.push(() => resolve());
      this.#pending.set(botName, waiters);
      void this.#drain();
    });
  }

  /** Re-reads every bot. Rejects if the read fails (the registry then fails closed and retries). */
  resync(): Promise<void> {
    return this.#enqueueFull();
  }

  /** Writes buffered `last used at` times. A failed write keeps them for the next flush. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#uses.size === 0) return;
      const batch = [...this.#uses].map(([jti, at]) => ({ jti, at }));
      this.#uses.clear();
      try {
        await this.#store.recordLastUsed(batch);
      } catch {
        for (const { jti, at } of batch) this.noteUse(jti, at);
      }
    });
    return this.#flushing;
  }

  /** Stops listening and retrying, and flushes buffered uses. Does not close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#allStale = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    clearInterval(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    // Nobody waits forever on a reload that will not run now.
    for (const waiters of this.#pending.values()) for (const settle of waiters) settle();
    this.#pending.clear();
    for (const settle of this.#fullWaiters.splice(0)) settle(new Error('The bot registry is closed.'));
    this.#reloadEnded();
    await this.flush();
  }

  /** Marks the change unapplied, then queues its reload (which may start reading at once). */
  #changed(change: StoreChange): void {
    const told = ++this.#changesTold;
    if (change.botName === ALL_BOTS) {
      this.#unappliedAll = told;
      void this.#enqueueFull().catch(() => undefined);
    } else {
      this.#unappliedBots.set(change.botName, told);
      void this.reloadBot(change.botName);
    }
  }

  /** A change to this bot, or to all, was told and no reload begun after it is applied yet. */
  #unapplied(botName: string): boolean {
    return this.#unappliedAll !== 0 || this.#unappliedBots.has(botName);
  }

  #reloadEnded(): void {
    for (const settle of this.#reloadEndWaiters.splice(0)) settle();
  }

  #health(up: boolean): void {
    this.#feedUp = up;
    if (!up) {
      // Changes made elsewhere cannot reach us now: nothing we hold is known to be current.
      this.#outages++;
      this.#allStale = true;
    } else {
      void this.#enqueueFull().catch(() => undefined);
    }
  }

  #enqueueFull(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error('The bot registry is closed.'));
        return;
      }
      this.#fullWanted = true;
      this.#fullWaiters.push((error) => (error === undefined ? resolve() : reject(error)));
      void this.#drain();
    });
  }

  /** Runs queued reloads one at a time, so results are applied in the order they were read. */
  async #drain(): Promise<void> {
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    try {
      while (!this.#closed && (this.#fullWanted || this.#pending.size > 0)) {
        if (this.#fullWanted) await this.#reloadAll();
        else await this.#reloadPending();
        this.#reloadEnded();
      }
    } finally {
      this.#draining = false;
    }
  }

  async #reloadAll(): Promise<void> {
    this.#fullWanted = false;
    const waiters = this.#fullWaiters;
    this.#fullWaiters = [];
    const feedUpAtStart = this.#feedUp;
    const outages = this.#outages;
    const toldAtStart = this.#changesTold;
    let tokens: BotTokenRecord[];
    let bots: BotRecord[];
    try {
      [tokens, bots] = await Promise.all([this.#store.listCurrentTokens(), this.#store.listBots()]);
    } catch (error) {
      this.#allStale = true;
      this.#retryFull = true;
      this.#scheduleRetry();
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const settle of waiters) settle(failure);
      return;
    }
    const next = new Map(tokens.map((t) => [t.botName, { jti: t.jti, issuedAt: t.issuedAt }]));
    for (const [botName, old] of this.#current) {
      if (next.get(botName)?.jti !== old.jti) this.#retire(old.jti);
    }
    this.#current.clear();
    for (const [botName, jti] of next) this.#current.set(botName, jti);
    const allowed = new Set<string>();
    for (const bot of bots) {
      allowed.add(bot.name);
      this.#applyScopes(bot.name, bot);
    }
    for (const botName of this.#allowed.keys()) if (!allowed.has(botName)) this.#allowed.delete(botName);
    // Applied, in any case, every change told before the read began.
    if (this.#unappliedAll <= toldAtStart) this.#unappliedAll = 0;
    for (const [botName, told] of this.#unappliedBots) {
      if (told <= toldAtStart) this.#unappliedBots.delete(botName);
    }
    // Read while the feed was up and no outage since: nothing can have been missed.
    if (feedUpAtStart && this.#feedUp && outages === this.#outages) {
      this.#allStale = false;
      this.#staleBots.clear();
      this.#retryMs = this.#minRetryMs;
    }
    for (const settle of waiters) settle();
  }

  async #reloadPending(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    const toldAtStart = this.#changesTold;
    let tokens: Array<BotTokenRecord | null>;
    let bots: Array<BotRecord | null>;
    try {
      [tokens, bots] = await Promise.all([
        Promise.all(batch.map(([botName]) => this.#store.getCurrentToken(botName))),
        Promise.all(batch.map(([botName]) => this.#store.getBot(botName))),
      ]);
    } catch {
      for (const [botName] of batch) {
        this.#staleBots.add(botName);
        this.#retryBots.add(botName);
      }
      this.#scheduleRetry();
      for (const [, waiters] of batch) for (const settle of waiters) settle();
      return;
    }
    batch.forEach(([botName], i) => {
      this.#apply(botName, tokens[i] ?? null);
      this.#applyScopes(botName, bots[i] ?? null);
      this.#staleBots.delete(botName);
      if ((this.#unappliedBots.get(botName) ?? Infinity) <= toldAtStart) this.#unappliedBots.delete(botName);
    });
    if (this.#staleBots.size === 0) this.#retryMs = this.#minRetryMs;
    for (const [, waiters] of batch) for (const settle of waiters) settle();
  }

  #apply(botName: string, token: BotTokenRecord | null): void {
    const old = this.#current.get(botName);
    if (token === null) this.#current.delete(botName);
    else this.#current.set(botName, { jti: token.jti, issuedAt: token.issuedAt });
    if (old !== undefined && old.jti !== token?.jti) this.#retire(old.jti);
  }

  /** Keeps the bot's allowed scopes; when they changed, its current token's cached principal goes. */
  #applyScopes(botName: string, bot: BotRecord | null): void {
    const old = this.#allowed.get(botName);
    if (bot === null) {
      this.#allowed.delete(botName);
      return;
    }
    const scopes = bot.allowedScopes;
    if (old !== undefined && old.length === scopes.length && old.every((s, i) => s === scopes[i])) return;
    this.#allowed.set(botName, Object.freeze([...scopes]));
    const current = this.#current.get(botName);
    if (old !== undefined && current !== undefined) this.#onScopesChanged(current.jti);
  }

  #retire(jti: string): void {
    if (this.#retired.size >= MAX_TRACKED_TOKENS) this.#retired.clear();
    this.#retired.add(jti);
    this.#onTokenRetired(jti);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#retryFull) {
        this.#retryFull = false;
        void this.#enqueueFull().catch(() => undefined);
      }
      for (const botName of this.#retryBots) void this.reloadBot(botName);
      this.#retryBots.clear();
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#maxRetryMs);
  }
}
