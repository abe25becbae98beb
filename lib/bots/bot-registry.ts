import type { BotRecord, BotStore, BotTokenRecord, LivePersonalToken, StoreChange } from '../store/types.js';
import { ALL_BOTS } from '../store/types.js';
import { LastUseBuffer } from './last-use-buffer.js';
import type { BotTokenGuard, BotTokenState } from '../verify/bot-token-guard.js';

export interface BotRegistryOptions {
  store: BotStore;
  /**
   * Called with the `jti` of a token that stopped being valid (a bot token replaced, revoked or
   * its bot deleted; a personal token revoked), so cached verifications of it can be dropped at once.
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

/** Least time between two store reads caused by one token newer than we know, ms. */
const REFRESH_INTERVAL_MS = 1000;

/** Bound of the per-token bookkeeping above (cleared when reached; it only limits re-reads). */
const MAX_TRACKED_TOKENS = 10_000;

/**
 * What a reload is about: one bot (`b:<name>`) or one person's personal tokens (`u:<name>`). One
 * queue orders both, so the rules below (never answer from a state older than a change told)
 * hold for each alike.
 */
type Subject = `b:${string}` | `u:${string}`;

const botSubject = (name: string): Subject => `b:${name}`;
const userSubject = (name: string): Subject => `u:${name}`;

/**
 * Which token is each bot's current one, and which personal access tokens each person holds live,
 * in memory so the per-request check is two lookups (docs/security.md#revocation). Warmed from the store at `init()`, then kept current by the store's change
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
  readonly #minRetryMs: number;
  readonly #maxRetryMs: number;

  /** botName → its current token (jti, issued at epoch ms). */
  readonly #current = new Map<string, { jti: string; issuedAt: number }>();
  /**
   * userName → the `jti`s of their live personal tokens (not revoked, not expired when read). A
   * token costs one set entry here: no record, no copy of its name.
   */
  #personal = new Map<string, Set<string>>();
  /** botName → its allowed scopes, frozen: shared by every principal of its tokens. */
  readonly #allowed = new Map<string, readonly string[]>();
  /** jti → when a request carrying it last caused a re-read of its bot (epoch ms). */
  readonly #refreshedAt = new Map<string, number>();
  /** jtis seen retired (replaced, revoked, bot deleted): refused without a re-read. */
  readonly #retired = new Set<string>();
  /** Nothing is known-fresh: before init, during a store outage, after a failed full reload. */
  #allStale = true;
  /** Bots and people whose last reload failed. */
  readonly #stale = new Set<Subject>();
  /** The store's change feed is up (stores without `onHealth` always are). */
  #feedUp = true;
  /** Bumped at each outage: a full reload clears staleness only if no outage began meanwhile. */
  #outages = 0;

  /** Changes told so far; a reload covers the changes told before it began reading. */
  #changesTold = 0;
  /** Subject → `#changesTold` at its latest change not yet covered by an applied reload. */
  readonly #unappliedSubjects = new Map<Subject, number>();
  /** `#changesTold` at the latest `ALL_BOTS` change not yet covered by a full reload, else 0. */
  #unappliedAll = 0;
  /** Settled when the reload running or next to run ends, applied or not. */
  #reloadEndWaiters: Array<() => void> = [];

  #fullWanted = false;
  #fullWaiters: Waiter[] = [];
  readonly #pending = new Map<Subject, Waiter[]>();
  #draining = false;
  #retryFull = false;
  readonly #retrySubjects = new Set<Subject>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs: number;

  readonly #uses: LastUseBuffer;
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(options: BotRegistryOptions) {
    this.#store = options.store;
    this.#onTokenRetired = options.onTokenRetired ?? (() => {});
    this.#onScopesChanged = options.onScopesChanged ?? (() => {});
    this.#minRetryMs = options.minRetryMs ?? 250;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
    this.#uses = new LastUseBuffer(this.#store, options.flushIntervalMs ?? 10_000);
    this.#retryMs = this.#minRetryMs;
  }

  /** Subscribes to the store's changes, then loads every current token. Rejects if the load fails. */
  async init(): Promise<void> {
    if (this.#unsubscribe.length > 0) return;
    // Subscribed before the load, so no change between the load and the subscription is missed.
    this.#unsubscribe.push(this.#store.onChange((change) => this.#changed(change)));
    if (this.#store.onHealth) this.#unsubscribe.push(this.#store.onHealth((up) => this.#health(up)));
    this.#uses.start();
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
    const known = this.#knownState(botSubject(botName), jti);
    if (known !== undefined) return known;
    // Expiry is the verifier's (with clock tolerance); here only "is this the current token".
    const current = this.#current.get(botName);
    if (jti !== null && current?.jti === jti) return 'valid';
    if (jti === null || issuedAtMs === undefined || this.#retired.has(jti)) return 'revoked';
    if (current !== undefined && issuedAtMs < current.issuedAt) return 'revoked';
    return this.#maybeNewer(jti, nowMs);
  }

  /**
   * The per-request check of a personal access token: `valid` while it is one of the person's
   * live tokens, by the same rules as `check()` — changes others committed are taken first, a
   * person with a change not yet re-read is `unknown`, and a token we do not hold may have been
   * minted a moment ago elsewhere (`unknown`, at most once a second per token).
   */
  checkPersonal(userName: string, jti: string | null, nowMs: number): BotTokenState {
    const known = this.#knownState(userSubject(userName), jti);
    if (known !== undefined) return known;
    if (jti === null) return 'revoked';
    if (this.#personal.get(userName)?.has(jti) === true) return 'valid';
    if (this.#retired.has(jti)) return 'revoked';
    return this.#maybeNewer(jti, nowMs);
  }

  /**
   * After `check()` said `unknown`: waits until the changes told for this bot (or for all bots) are
   * applied, or, when none is, re-reads the bot. Never rejects; resolves early when a reload fails
   * (`check()` then says `unavailable`).
   */
  refresh(botName: string): Promise<void> {
    return this.#refresh(botSubject(botName));
  }

  /** `refresh()` for a person's personal tokens, after `checkPersonal()` said `unknown`. */
  refreshPersonal(userName: string): Promise<void> {
    return this.#refresh(userSubject(userName));
  }

  /**
   * What both checks answer before looking at the token itself: `unavailable` while the state is
   * not known, `unknown` / `revoked` while a change to the subject is told but not yet re-read.
   */
  #knownState(subject: Subject, jti: string | null): BotTokenState | undefined {
    try {
      this.#store.syncChanges?.();
    } catch {
      // Others' changes cannot be read: what we hold may be stale.
      return 'unavailable';
    }
    if (this.#allStale || this.#stale.has(subject)) return 'unavailable';
    // Not the rate-limited path below: a just-issued token must not be refused while it reloads.
    if (this.#unapplied(subject)) return jti === null || this.#retired.has(jti) ? 'revoked' : 'unknown';
    return undefined;
  }

  /** A token we do not hold: `unknown` (re-read) at most once a second per token, else `revoked`. */
  #maybeNewer(jti: string, nowMs: number): BotTokenState {
    if (nowMs - (this.#refreshedAt.get(jti) ?? Number.NEGATIVE_INFINITY) < REFRESH_INTERVAL_MS)
      return 'revoked';
    if (this.#refreshedAt.size >= MAX_TRACKED_TOKENS) this.#refreshedAt.clear();
    this.#refreshedAt.set(jti, nowMs);
    return 'unknown';
  }

  async #refresh(subject: Subject): Promise<void> {
    if (!this.#unapplied(subject)) return this.#reload(subject);
    // Each unapplied change has a reload queued or running behind it, so every round makes progress.
    while (!this.#closed && !this.#allStale && !this.#stale.has(subject) && this.#unapplied(subject)) {
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
    this.#uses.note(jti, nowMs);
  }

  /** A use of `jti` noted but not yet written to the store, epoch ms. */
  pendingLastUse(jti: string): number | undefined {
    return this.#uses.pending(jti);
  }

  /** The token's last use: `stored` (the store's), or a later use noted but not yet written. */
  lastUsedAt(jti: string, stored: number | null): number | null {
    const pending = this.#uses.pending(jti);
    return pending !== undefined && (stored === null || pending > stored) ? pending : stored;
  }

  /** Every bot's token state is known (false during a store outage or after failed reloads). */
  get healthy(): boolean {
    return this.#feedUp && !this.#allStale && this.#stale.size === 0;
  }

  /**
   * Re-reads one bot from the store and resolves once a read that started after this call is
   * applied. Never rejects: a failed read marks the bot `unavailable` and is retried.
   */
  reloadBot(botName: string): Promise<void> {
    return this.#reload(botSubject(botName));
  }

  /** `reloadBot()` for one person's personal tokens. */
  reloadPersonal(userName: string): Promise<void> {
    return this.#reload(userSubject(userName));
  }

  #reload(subject: Subject): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#closed) {
        resolve();
        return;
      }
      const waiters = this.#pending.get(subject) ?? [];
      waiters.push(() => resolve());
      this.#pending.set(subject, waiters);
      void this.#drain();
    });
  }

  /** Re-reads every bot. Rejects if the read fails (the registry then fails closed and retries). */
  resync(): Promise<void> {
    return this.#enqueueFull();
  }

  /** Writes buffered `last used at` times. A failed write keeps them for the next flush. */
  flush(): Promise<void> {
    return this.#uses.flush();
  }

  /** Stops listening and retrying, and flushes buffered uses. Does not close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#allStale = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    clearTimeout(this.#retryTimer);
    // Nobody waits forever on a reload that will not run now.
    for (const waiters of this.#pending.values()) for (const settle of waiters) settle();
    this.#pending.clear();
    for (const settle of this.#fullWaiters.splice(0)) settle(new Error('The bot registry is closed.'));
    this.#reloadEnded();
    await this.#uses.close();
  }

  /** Marks the change unapplied, then queues its reload (which may start reading at once). */
  #changed(change: StoreChange): void {
    const told = ++this.#changesTold;
    if (change.botName === ALL_BOTS) {
      this.#unappliedAll = told;
      void this.#enqueueFull().catch(() => undefined);
      return;
    }
    const subject = change.botName === undefined ? userSubject(change.userName) : botSubject(change.botName);
    this.#unappliedSubjects.set(subject, told);
    void this.#reload(subject);
  }

  /** A change to this subject, or to all, was told and no reload begun after it is applied yet. */
  #unapplied(subject: Subject): boolean {
    return this.#unappliedAll !== 0 || this.#unappliedSubjects.has(subject);
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
    let personal: LivePersonalToken[];
    try {
      [tokens, bots, personal] = await Promise.all([
        this.#store.listCurrentTokens(),
        this.#store.listBots(),
        this.#store.listLivePersonalTokens(Date.now()),
      ]);
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
    this.#applyAllPersonal(personal);
    // Applied, in any case, every change told before the read began.
    if (this.#unappliedAll <= toldAtStart) this.#unappliedAll = 0;
    for (const [subject, told] of this.#unappliedSubjects) {
      if (told <= toldAtStart) this.#unappliedSubjects.delete(subject);
    }
    // Read while the feed was up and no outage since: nothing can have been missed.
    if (feedUpAtStart && this.#feedUp && outages === this.#outages) {
      this.#allStale = false;
      this.#stale.clear();
      this.#retryMs = this.#minRetryMs;
    }
    for (const settle of waiters) settle();
  }

  async #reloadPending(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    const toldAtStart = this.#changesTold;
    let reads: Array<() => void>;
    try {
      reads = await Promise.all(batch.map(([subject]) => this.#read(subject)));
    } catch {
      for (const [subject] of batch) {
        this.#stale.add(subject);
        this.#retrySubjects.add(subject);
      }
      this.#scheduleRetry();
      for (const [, waiters] of batch) for (const settle of waiters) settle();
      return;
    }
    batch.forEach(([subject], i) => {
      reads[i]!();
      this.#stale.delete(subject);
      if ((this.#unappliedSubjects.get(subject) ?? Infinity) <= toldAtStart)
        this.#unappliedSubjects.delete(subject);
    });
    if (this.#stale.size === 0) this.#retryMs = this.#minRetryMs;
    for (const [, waiters] of batch) for (const settle of waiters) settle();
  }

  /** Reads one subject from the store; resolves to what applies the read, in queue order. */
  async #read(subject: Subject): Promise<() => void> {
    const name = subject.slice(2);
    if (subject.startsWith('u:')) {
      const live = await this.#store.listLivePersonalTokens(Date.now(), name);
      return () => this.#applyPersonal(name, live);
    }
    const [token, bot] = await Promise.all([this.#store.getCurrentToken(name), this.#store.getBot(name)]);
    return () => {
      this.#apply(name, token);
      this.#applyScopes(name, bot);
    };
  }

  /** Replaces one person's live tokens; those gone (revoked, expired) are retired. */
  #applyPersonal(userName: string, live: readonly LivePersonalToken[]): void {
    const old = this.#personal.get(userName);
    const next = new Set(live.map((t) => t.jti));
    if (old !== undefined) for (const jti of old) if (!next.has(jti)) this.#retire(jti);
    if (next.size === 0) this.#personal.delete(userName);
    else this.#personal.set(userName, next);
  }

  /**
   * Replaces every person's live tokens (a full reload): one pass over the rows into new sets, no
   * copy per person; the tokens of the old sets that are gone are retired.
   */
  #applyAllPersonal(live: readonly LivePersonalToken[]): void {
    const next = new Map<string, Set<string>>();
    for (const { userName, jti } of live) {
      const jtis = next.get(userName);
      if (jtis === undefined) next.set(userName, new Set([jti]));
      else jtis.add(jti);
    }
    for (const [userName, old] of this.#personal) {
      const kept = next.get(userName);
      for (const jti of old) if (kept?.has(jti) !== true) this.#retire(jti);
    }
    this.#personal = next;
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
      for (const subject of this.#retrySubjects) void this.#reload(subject);
      this.#retrySubjects.clear();
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#maxRetryMs);
  }
}
