import assert from 'node:assert/strict';
import { BotRegistry } from '../lib/bots/bot-registry.js';
import { Listeners } from '../lib/store/listeners.js';
import { MemoryStore } from '../lib/store/memory-store.js';
import { storeUnavailable } from '../lib/store/store-errors.js';
import { hashToken } from '../lib/store/token-hash.js';
import type { BotTokenRecord, StoreChange } from '../lib/store/types.js';
import { ALL_BOTS } from '../lib/store/types.js';
import { eventually } from './support/bot-app.js';

/** A real memory store whose reads can be made to fail, with a change feed that can be "lost". */
class FlakyStore extends MemoryStore {
  down = false;
  readonly written: Array<ReadonlyArray<{ jti: string; at: number }>> = [];
  readonly #health = new Listeners<boolean>();

  override getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    return this.down ? Promise.reject(storeUnavailable('test', null)) : super.getCurrentToken(botName);
  }
  override listCurrentTokens(): Promise<BotTokenRecord[]> {
    return this.down ? Promise.reject(storeUnavailable('test', null)) : super.listCurrentTokens();
  }
  override recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void> {
    if (this.down) return Promise.reject(storeUnavailable('test', null));
    this.written.push(uses);
    return super.recordLastUsed(uses);
  }
  onHealth(listener: (healthy: boolean) => void): () => void {
    return this.#health.add(listener);
  }
  feed(up: boolean): void {
    this.#health.emit(up);
  }
}

/**
 * The store as another instance's writes reach this one over SQLite: its changes are told to
 * listeners only when `syncChanges()` delivers them (`held` until then), and its reads can be held
 * (each returns the state at its start, once released).
 */
class SyncedStore extends MemoryStore {
  /** Changes written but not yet delivered; a test may rewrite them (e.g. to `ALL_BOTS`). */
  readonly held: StoreChange[] = [];
  /** Reads in the order they began: `get:<bot>` or `list`. */
  readonly reads: string[] = [];
  holdReads = false;
  readonly #listeners = new Listeners<StoreChange>();
  readonly #releases: Array<() => void> = [];

  constructor() {
    super();
    super.onChange((change) => this.held.push(change));
  }
  override onChange(listener: (change: StoreChange) => void): () => void {
    return this.#listeners.add(listener);
  }
  syncChanges(): void {
    for (const change of this.held.splice(0)) this.#listeners.emit(change);
  }
  override async getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    this.reads.push(`get:${botName}`);
    return this.#held(await super.getCurrentToken(botName));
  }
  override async listCurrentTokens(): Promise<BotTokenRecord[]> {
    this.reads.push('list');
    return this.#held(await super.listCurrentTokens());
  }
  /** Lets the oldest held read finish. */
  releaseRead(): void {
    const release = this.#releases.shift();
    assert.ok(release !== undefined, 'a read is held');
    release();
  }
  async #held<T>(value: T): Promise<T> {
    if (this.holdReads) await new Promise<void>((resolve) => this.#releases.push(resolve));
    return value;
  }
}

/** Lets queued reloads (promise callbacks) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

let seq = 0;
function record(botName: string): BotTokenRecord {
  const jti = `jti-${++seq}`;
  return {
    botName,
    jti,
    tokenHash: hashToken(jti),
    last4: jti.slice(-4),
    expiry: '7',
    issuedAt: Date.now(),
    expiresAt: Date.now() + 7 * 86_400_000,
    issuedBy: 'admin',
    lastUsedAt: null,
    revokedAt: null,
    scopes: null,
    dpopJkt: null,
  };
}

describe('bot registry', function () {
  let store: FlakyStore;
  let registry: BotRegistry;
  const retired: string[] = [];

  beforeEach(async function () {
    store = new FlakyStore();
    for (const name of ['a', 'b']) {
      await store.createBot({
        name,
        displayName: name,
        description: '',
        createdAt: 0,
        createdBy: 'admin',
        allowedScopes: [],
        requireDpop: false,
      });
    }
    retired.length = 0;
    registry = new BotRegistry({
      store,
      onTokenRetired: (jti) => retired.push(jti),
      minRetryMs: 20,
      maxRetryMs: 40,
    });
  });
  afterEach(() => registry.close());

  it('knows nothing before init (fails closed), then answers from the tokens in the store', async function () {
    const a = record('a');
    await store.issueToken(a, 'admin');
    assert.equal(registry.check('a', a.jti, Date.now()), 'unavailable');
    await registry.init();
    assert.equal(registry.check('a', a.jti, Date.now()), 'valid');
    assert.equal(registry.check('a', 'other', Date.now()), 'revoked');
    assert.equal(registry.check('a', null, Date.now()), 'revoked');
    assert.equal(registry.check('b', a.jti, Date.now()), 'revoked', 'a jti counts only for its own bot');
    assert.equal(registry.check('nobody', a.jti, Date.now()), 'revoked');
    assert.equal(registry.healthy, true);
  });

  it('follows the store: replaced and revoked tokens are refused and reported as retired', async function () {
    await registry.init();
    const first = record('a');
    await store.issueToken(first, 'admin');
    await registry.reloadBot('a');
    const second = record('a');
    await store.issueToken(second, 'admin');
    await registry.reloadBot('a');
    assert.equal(registry.check('a', first.jti, 0), 'revoked');
    assert.equal(registry.check('a', second.jti, 0), 'valid');
    await store.deleteBot('a', 'admin', Date.now());
    await registry.reloadBot('a');
    assert.equal(registry.check('a', second.jti, 0), 'revoked');
    assert.deepEqual(retired, [first.jti, second.jti]);
  });

  it('answers unavailable for a bot whose reload failed, only that bot, until a retry succeeds', async function () {
    const a = record('a');
    const b = record('b');
    await store.issueToken(a, 'admin');
    await store.issueToken(b, 'admin');
    await registry.init();
    store.down = true;
    await store.revokeToken('a', 'admin', Date.now()); // the write works; the registry's re-read fails
    await registry.reloadBot('a');
    assert.equal(registry.check('a', a.jti, 0), 'unavailable', 'never the stale "valid"');
    assert.equal(registry.check('b', b.jti, 0), 'valid', 'other bots are still known');
    assert.equal(registry.healthy, false);
    store.down = false;
    await eventually(() => registry.check('a', a.jti, 0) === 'revoked', 2000, 'retry');
    assert.equal(registry.healthy, true);
  });

  it('fails closed for every bot while the change feed is lost, until a full reload after it returns', async function () {
    const a = record('a');
    await store.issueToken(a, 'admin');
    await registry.init();
    store.feed(false);
    assert.equal(registry.check('a', a.jti, 0), 'unavailable');
    assert.equal(registry.check('b', 'x', 0), 'unavailable');
    await registry.resync(); // a reload while the feed is down proves nothing
    assert.equal(registry.check('a', a.jti, 0), 'unavailable');
    await store.revokeToken('a', 'admin', Date.now());
    store.feed(true);
    await eventually(() => registry.check('a', a.jti, 0) !== 'unavailable', 2000, 'resync');
    assert.equal(registry.check('a', a.jti, 0), 'revoked', 'the resync saw the change made meanwhile');
  });

  it('rejects init when the store cannot be read', async function () {
    store.down = true;
    await assert.rejects(
      registry.init(),
      (e: unknown) => e instanceof Error && /unavailable/.test(e.message),
    );
    assert.equal(registry.check('a', 'x', 0), 'unavailable');
  });

  it('batches last-used times: one write with the latest use per token, kept when the write fails', async function () {
    await registry.init();
    for (let i = 1; i <= 1000; i++) registry.noteUse('t1', i);
    registry.noteUse('t2', 5);
    assert.equal(registry.pendingLastUse('t1'), 1000);
    assert.deepEqual(store.written, [], 'nothing written per request');
    store.down = true;
    await registry.flush();
    assert.equal(registry.pendingLastUse('t1'), 1000, 'kept for the next flush');
    store.down = false;
    await registry.flush();
    assert.deepEqual(store.written, [
      [
        { jti: 't1', at: 1000 },
        { jti: 't2', at: 5 },
      ],
    ]);
    assert.equal(registry.pendingLastUse('t1'), undefined);
  });
});

describe('bot registry over a store that delivers changes on demand (SQLite)', function () {
  let store: SyncedStore;
  let registry: BotRegistry;
  const retired: string[] = [];

  beforeEach(async function () {
    store = new SyncedStore();
    for (const name of ['a', 'b']) {
      await store.createBot({
        name,
        displayName: name,
        description: '',
        createdAt: 0,
        createdBy: 'admin',
        allowedScopes: [],
        requireDpop: false,
      });
    }
    retired.length = 0;
    registry = new BotRegistry({ store, onTokenRetired: (jti) => retired.push(jti) });
  });
  afterEach(() => registry.close());

  /** Issues a token for `a` before the registry starts; it is `valid`. */
  async function started(): Promise<BotTokenRecord> {
    const first = record('a');
    await store.issueToken(first, 'admin');
    store.held.length = 0; // written before init: the warm-up load reads it
    await registry.init();
    assert.equal(registry.check('a', first.jti, Date.now(), first.issuedAt), 'valid');
    return first;
  }

  it('asks the store for changes before each check: a revoke it delivers is never answered from the old state', async function () {
    const first = await started();
    await store.revokeToken('a', 'cli', Date.now());
    assert.equal(
      registry.check('a', first.jti, Date.now(), first.issuedAt),
      'unknown',
      'not the stale "valid"',
    );
    assert.equal(registry.check('b', 'other', Date.now(), Date.now()), 'unknown', 'bot b has no token');
    await registry.refresh('a');
    assert.equal(registry.check('a', first.jti, Date.now()), 'revoked');
    assert.deepEqual(retired, [first.jti]);
    assert.equal(
      registry.check('a', first.jti, Date.now(), first.issuedAt),
      'revoked',
      'retired: no re-read',
    );
  });

  it('takes a token whose issue it was just told of, even right after a re-read refused it (no per-token rate limit then)', async function () {
    await started();
    const next = record('a');
    // Presented before it is in the store: one re-read, which cannot find it.
    assert.equal(registry.check('a', next.jti, Date.now(), next.issuedAt), 'unknown');
    await registry.refresh('a');
    assert.equal(registry.check('a', next.jti, Date.now()), 'revoked');
    assert.equal(registry.check('a', next.jti, Date.now(), next.issuedAt), 'revoked', 'rate-limited');
    await store.issueToken(next, 'admin');
    assert.equal(
      registry.check('a', next.jti, Date.now(), next.issuedAt),
      'unknown',
      'the change lifts the limit',
    );
    await registry.refresh('a');
    assert.equal(registry.check('a', next.jti, Date.now()), 'valid');
  });

  it('keeps a bot unknown until a reload begun after its latest change is applied', async function () {
    const first = await started();
    store.holdReads = true;
    store.reads.length = 0;
    const second = record('a');
    await store.issueToken(second, 'admin');
    assert.equal(registry.check('a', second.jti, Date.now(), second.issuedAt), 'unknown'); // read 1 begins
    const third = record('a');
    await store.issueToken(third, 'admin');
    assert.equal(registry.check('a', third.jti, Date.now(), third.issuedAt), 'unknown'); // read 2 queued
    let refreshed = false;
    void registry.refresh('a').then(() => (refreshed = true));
    store.releaseRead();
    await settle();
    assert.deepEqual(store.reads, ['get:a', 'get:a'], 'read 1 applied, read 2 begun');
    assert.equal(
      registry.check('a', second.jti, Date.now(), second.issuedAt),
      'unknown',
      'read 1 predates change 2',
    );
    assert.equal(refreshed, false, 'refresh waits for the reload after the latest change');
    store.releaseRead();
    await settle();
    assert.equal(refreshed, true);
    assert.equal(registry.check('a', third.jti, Date.now()), 'valid');
    assert.equal(registry.check('a', second.jti, Date.now()), 'revoked');
    assert.deepEqual(retired, [first.jti, second.jti]);
  });

  it('after a change to all bots, says unknown for every bot, and refresh waits for the full reload', async function () {
    const first = await started();
    store.holdReads = true;
    await store.revokeToken('a', 'cli', Date.now());
    store.held.splice(0, store.held.length, { botName: ALL_BOTS });
    store.reads.length = 0;
    assert.equal(registry.check('a', first.jti, Date.now(), first.issuedAt), 'unknown');
    assert.equal(registry.check('b', 'other', Date.now(), Date.now()), 'unknown');
    let refreshed = false;
    void registry.refresh('a').then(() => (refreshed = true));
    await settle();
    assert.equal(refreshed, false);
    store.releaseRead();
    await settle();
    assert.equal(refreshed, true);
    assert.deepEqual(store.reads, ['list'], 'only the full reload: no re-read of the bot');
    assert.equal(registry.check('a', first.jti, Date.now()), 'revoked');
  });

  it('fails closed when the store cannot tell its changes', async function () {
    const first = await started();
    store.syncChanges = () => {
      throw storeUnavailable('test', null);
    };
    assert.equal(registry.check('a', first.jti, Date.now(), first.issuedAt), 'unavailable');
  });
});
