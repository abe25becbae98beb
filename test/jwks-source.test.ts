import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { AsymmetricAlgorithm, JwksFetchConfiguration } from '../lib/config/types.js';
import { ConfigError, ServiceUnavailableError } from '../lib/errors.js';
import { cacheLifetimeSeconds } from '../lib/verify/jwks/cache-lifetime.js';
import { importVerificationKeys } from '../lib/verify/jwks/import-verification-keys.js';
import { RemoteJwksSource } from '../lib/verify/jwks/remote-jwks-source.js';
import { publicJwk, startJwksServer } from './support/jwks-server.js';
import type { JwksServer, JwksServerOptions } from './support/jwks-server.js';

const FETCH: JwksFetchConfiguration = {
  timeoutMs: 2000,
  maxResponseBytes: 64 * 1024,
  maxKeys: 50,
  cooldownSeconds: 30,
  minCacheSeconds: 60,
  maxCacheSeconds: 3600,
  defaultCacheSeconds: 600,
  staleIfErrorSeconds: 900,
};
const T0 = 1_700_000_000_000;
const KEY_UNKNOWN = { code: 'ERR_TOKEN_KEY_UNKNOWN', status: 401 };
const unavailable = (message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ServiceUnavailableError);
  assert.equal(err.code, 'ERR_KEYS_UNAVAILABLE');
  assert.equal(err.status, 503);
  assert.ok(Number(err.headers['Retry-After']) >= 1);
  assert.match(err.message, message);
  return true;
};

const rsa = (bits = 2048): KeyObject => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
const k1 = rsa();
const k2 = rsa();
const k3 = rsa();
const small = rsa(1024);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) =>
  publicJwk(key, { kid, alg: 'RS256', use: 'sig', ...extra });

describe('RemoteJwksSource', () => {
  let clock: number;
  const now = (): number => clock;
  const seconds = (s: number): void => {
    clock += s * 1000;
  };
  let servers: JwksServer[];
  let sources: RemoteJwksSource[];

  const serve = async (options: JwksServerOptions = {}): Promise<JwksServer> => {
    const server = await startJwksServer({ keys: { keys: [jwk(k1, 'k1')] }, ...options });
    servers.push(server);
    return server;
  };
  const sourceFor = (
    server: JwksServer,
    fetch: Partial<JwksFetchConfiguration> = {},
    algorithms: AsymmetricAlgorithm[] = ['RS256'],
  ): RemoteJwksSource => {
    const source = new RemoteJwksSource({
      url: server.jwksUri,
      algorithms,
      fetch: { ...FETCH, ...fetch },
      now,
    });
    sources.push(source);
    return source;
  };

  beforeEach(() => {
    clock = T0;
    servers = [];
    sources = [];
  });
  afterEach(async () => {
    for (const source of sources) source.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  it('fetches once, then serves the parsed key from cache, sync and async', async () => {
    const server = await serve();
    const source = sourceFor(server);
    assert.equal(source.getKeySync('k1', 'RS256'), undefined);
    const key = await source.getKey('k1', 'RS256');
    assert.ok(key.equals(k1));
    for (let i = 0; i < 100; i++) assert.equal(await source.getKey('k1', 'RS256'), key);
    assert.equal(source.getKeySync('k1', 'RS256'), key);
    assert.equal(server.fetchCount, 1);
    assert.equal(source.fetchCount, 1);
  });

  it('lets a flood of 2,000 random kids cause at most one fetch per cooldown, keeping good keys', async () => {
    const server = await serve();
    const source = sourceFor(server);
    await source.prefetch();
    const good = source.getKeySync('k1', 'RS256');
    assert.ok(good);
    for (let period = 0; period < 3; period++) {
      const flood = Array.from({ length: 2000 }, () => source.getKey(randomUUID(), 'RS256'));
      const results = await Promise.allSettled(flood);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.equal((result.reason as { code: string }).code, 'ERR_TOKEN_KEY_UNKNOWN');
      }
      assert.equal(source.getKeySync('k1', 'RS256'), good);
      assert.equal(await source.getKey('k1', 'RS256'), good);
      assert.equal(server.fetchCount, 1 + period, `fetches after cooldown period ${period}`);
      seconds(FETCH.cooldownSeconds);
    }
    await assert.rejects(source.getKey('x'.repeat(5000), 'RS256'), (err: Error) => err.message.length < 300);
  });

  // Issue 16 §5: a flood of unknown kids keeps the cooldown busy, yet a key the issuer really
  // rotated in must be served within one cooldown (plus one fetch), and the flood must still get
  // one fetch per cooldown. Source time moves in ticks of TICK_MS, each with two instants FETCH_MS
  // apart; nothing is awaited between them, so a fetch started at the first instant is still in
  // flight at the second: every fetch lasts FETCH_MS of source time.
  const COOLDOWN_MS = 2000;
  const TICK_MS = 100;
  const FETCH_MS = 50;
  /** Just after the flood's fetch at T0 + COOLDOWN_MS ended: the worst moment to rotate. */
  const ROTATE_AT = T0 + COOLDOWN_MS + TICK_MS;
  /** `junk`: a random kid; `guess`: the attacker tries k2's kid; `legit`: a token signed with k2. */
  type Asker = 'junk' | 'guess' | 'legit';
  interface Ask {
    who: Asker;
    at: number;
    /** `fetchCount` just after asking: includes a fetch this ask started. */
    fetchesAfter: number;
    result?: PromiseSettledResult<KeyObject>;
  }
  const junk = (count: number): Asker[] => Array.from({ length: count }, () => 'junk');

  /**
   * Three cooldowns of flood against a source holding k1; at ROTATE_AT the key server adds k2.
   * `instant(rotated, second)` lists who asks at one instant, in order. Returns when each fetch
   * started (the prefetch first) and every ask with its answer.
   */
  const floodThroughRotation = async (
    instant: (rotated: boolean, second: boolean) => Asker[],
  ): Promise<{ fetchStarts: number[]; asks: Ask[] }> => {
    const server = await serve();
    const source = sourceFor(server, { cooldownSeconds: COOLDOWN_MS / 1000 });
    await source.prefetch();
    const good = source.getKeySync('k1', 'RS256');
    assert.ok(good);
    const fetchStarts = [T0];
    const asks: Ask[] = [];
    for (let tick = 1; tick <= (3 * COOLDOWN_MS) / TICK_MS; tick++) {
      clock = T0 + tick * TICK_MS;
      if (clock === ROTATE_AT) server.setKeys({ keys: [jwk(k1, 'k1'), jwk(k2, 'k2')] });
      const rotated = clock >= ROTATE_AT;
      const answers: Promise<void>[] = [];
      for (const second of [false, true]) {
        if (second) seconds(FETCH_MS / 1000);
        for (const who of instant(rotated, second)) {
          const key = source.getKey(who === 'junk' ? randomUUID() : 'k2', 'RS256');
          const ask: Ask = { who, at: clock, fetchesAfter: source.fetchCount };
          if (fetchStarts.length < source.fetchCount) fetchStarts.push(clock);
          asks.push(ask);
          answers.push(
            Promise.allSettled([key]).then(([result]) => {
              ask.result = result;
            }),
          );
        }
      }
      await Promise.all(answers);
      assert.equal(source.getKeySync('k1', 'RS256'), good, 'the flood never costs the good key');
    }
    assert.equal(server.fetchCount, source.fetchCount);
    return { fetchStarts, asks };
  };

  /** Checks both floods share; returns how long after the rotation k2 was first served, ms. */
  const assertRotatedKeyServed = ({ fetchStarts, asks }: { fetchStarts: number[]; asks: Ask[] }): number => {
    for (let i = 1; i < fetchStarts.length; i++) {
      assert.ok(fetchStarts[i]! - fetchStarts[i - 1]! >= COOLDOWN_MS, `fetches at ${fetchStarts.join(', ')}`);
    }
    const pickup = fetchStarts.findIndex((at) => at >= ROTATE_AT) + 1;
    assert.ok(pickup > 0, 'no fetch after the rotation: the flood starved the refresh');
    let firstServed: number | undefined;
    for (const { who, at, fetchesAfter, result } of asks) {
      assert.ok(result);
      const label = `${who} at +${at - ROTATE_AT} ms (fetch ${fetchesAfter})`;
      if (who === 'guess') continue;
      // Once the fetch that brings k2 has started — by junk, by the attacker, or by this very
      // ask — no legitimate ask is refused: it shares that fetch or finds k2 held.
      if (who === 'legit' && fetchesAfter >= pickup) {
        assert.equal(result.status, 'fulfilled', label);
        assert.ok(result.value.equals(k2), label);
        firstServed ??= at;
      } else {
        assert.equal(result.status, 'rejected', label);
        assert.equal((result.reason as { code: string }).code, 'ERR_TOKEN_KEY_UNKNOWN', label);
      }
    }
    assert.ok(firstServed !== undefined, 'k2 was never served');
    return firstServed - ROTATE_AT;
  };

  it('serves a rotated-in key within one cooldown while random kids flood, one fetch per cooldown', async () => {
    // 30 random kids and the attacker's guess of k2's kid every 100 ms (so k2's kid is in the
    // negative cache at the rotation); after it, the legitimate token before, amid and after junk.
    const flood = await floodThroughRotation((rotated, second) => {
      const legit: Asker[] = rotated ? ['legit'] : [];
      return second ? [...junk(10), ...legit] : ['guess', ...legit, ...junk(10), ...legit, ...junk(10)];
    });
    assert.ok(assertRotatedKeyServed(flood) <= COOLDOWN_MS);
    // Junk neither re-arms the cooldown nor gets more than one fetch per cooldown.
    assert.deepEqual(flood.fetchStarts, [T0, T0 + COOLDOWN_MS, T0 + 2 * COOLDOWN_MS, T0 + 3 * COOLDOWN_MS]);
    assert.equal(flood.asks.filter((ask) => ask.who === 'junk').length, 1800);
  });

  it('serves a rotated-in key within a cooldown and a fetch while the attacker floods its kid', async () => {
    // The attacker knows the next kid and asks for it only: its negative-cache entry must lapse
    // one cooldown after the fetch that missed it, however often it is asked for meanwhile.
    const flood = await floodThroughRotation((rotated, second) => [
      ...Array.from({ length: second ? 1 : 5 }, (): Asker => 'guess'),
      ...(rotated ? (['legit'] as const) : []),
    ]);
    assert.ok(assertRotatedKeyServed(flood) <= COOLDOWN_MS + FETCH_MS);
    assert.deepEqual(flood.fetchStarts, [T0, T0 + COOLDOWN_MS, T0 + 2 * COOLDOWN_MS + FETCH_MS]);
  });

  it('shares one fetch among 50 concurrent misses (single flight)', async () => {
    const server = await serve({ behaviour: { type: 'slow', delayMs: 50 } });
    const source = sourceFor(server);
    const keys = await Promise.all(Array.from({ length: 50 }, () => source.getKey('k1', 'RS256')));
    assert.ok(keys.every((key) => key === keys[0]));
    assert.equal(server.fetchCount, 1);

    seconds(FETCH.cooldownSeconds);
    const misses = await Promise.allSettled(Array.from({ length: 50 }, () => source.getKey('nope', 'RS256')));
    assert.ok(misses.every((miss) => miss.status === 'rejected'));
    assert.equal(server.fetchCount, 2);
  });

  it('refreshes for an unknown kid only once the cooldown has passed', async () => {
    const server = await serve();
    const source = sourceFor(server);
    await source.prefetch();
    server.setKeys({ keys: [jwk(k1, 'k1'), jwk(k2, 'k2')] });
    seconds(FETCH.cooldownSeconds - 0.001);
    await assert.rejects(source.getKey('k2', 'RS256'), KEY_UNKNOWN);
    assert.equal(server.fetchCount, 1);
    seconds(0.001);
    assert.ok((await source.getKey('k2', 'RS256')).equals(k2));
    assert.equal(server.fetchCount, 2);
    // A kid just found missing is not retried, and the next refresh waits a full cooldown.
    seconds(FETCH.cooldownSeconds);
    await assert.rejects(source.getKey('k3', 'RS256'), KEY_UNKNOWN);
    assert.equal(server.fetchCount, 3);
    seconds(FETCH.cooldownSeconds - 1);
    await assert.rejects(source.getKey('k3', 'RS256'), KEY_UNKNOWN);
    await assert.rejects(source.getKey('k4', 'RS256'), KEY_UNKNOWN);
    assert.equal(server.fetchCount, 3);
  });

  it('remembers a kid found missing for a cooldown after the (slow) fetch that missed it', async () => {
    const server = await serve();
    const source = sourceFor(server);
    await source.prefetch();
    server.setBehaviour({ type: 'slow', delayMs: 50 });
    seconds(FETCH.cooldownSeconds);
    const miss = source.getKey('gone', 'RS256');
    seconds(20); // the clock moves on while the fetch is in flight
    await assert.rejects(miss, KEY_UNKNOWN);
    seconds(FETCH.cooldownSeconds - 19); // the cooldown since the fetch started has passed
    await assert.rejects(source.getKey('gone', 'RS256'), KEY_UNKNOWN);
    assert.equal(server.fetchCount, 2);
    await assert.rejects(source.getKey('another', 'RS256'), KEY_UNKNOWN);
    assert.equal(server.fetchCount, 3);
  });

  it('clamps Cache-Control max-age to [min, max] and uses the default when absent', async () => {
    const bounds = { minCacheSeconds: 60, maxCacheSeconds: 3600, defaultCacheSeconds: 600 };
    assert.equal(cacheLifetimeSeconds('public, max-age=120', bounds), 120);
    assert.equal(cacheLifetimeSeconds('max-age=5', bounds), 60);
    assert.equal(cacheLifetimeSeconds('max-age=99999999', bounds), 3600);
    assert.equal(cacheLifetimeSeconds('no-store', bounds), 60);
    assert.equal(cacheLifetimeSeconds('max-age=300, no-cache', bounds), 60);
    assert.equal(cacheLifetimeSeconds('max-age=-1', bounds), 600);
    assert.equal(cacheLifetimeSeconds(undefined, bounds), 600);

    for (const [cacheControl, lifetime] of [
      ['max-age=5', 60],
      ['max-age=99999999', 3600],
      [undefined, 600],
    ] as const) {
      const server = await serve({ cacheControl });
      const source = sourceFor(server);
      await source.prefetch();
      seconds(lifetime - 1);
      await source.getKey('k1', 'RS256');
      assert.equal(server.fetchCount, 1, `no refresh before ${lifetime}s (${cacheControl})`);
      seconds(1);
      assert.equal(source.getKeySync('k1', 'RS256'), undefined);
      await source.getKey('k1', 'RS256');
      assert.equal(server.fetchCount, 2, `refresh at ${lifetime}s (${cacheControl})`);
      clock = T0;
    }
  });

  it('serves stale keys while the server is down, until staleIfErrorSeconds past expiry, then 503', async () => {
    const server = await serve({ cacheControl: 'max-age=60' });
    const source = sourceFor(server);
    await source.prefetch();
    server.setBehaviour({ type: 'down' });
    seconds(60);
    const key = await source.getKey('k1', 'RS256');
    assert.ok(key.equals(k1));
    assert.equal(server.fetchCount, 2);
    assert.deepEqual(
      { ...source.health(), lastError: source.health().lastError?.includes(server.jwksUri) },
      {
        url: server.jwksUri,
        healthy: true,
        keyCount: 1,
        lastFetchAt: T0 + 60_000,
        keysAgeSeconds: 60,
        lastError: true,
        fetchCount: 2,
        stale: true,
      },
    );
    // Within the failure backoff (1 s after the first failure): served stale, server not asked.
    seconds(0.5);
    assert.equal(source.getKeySync('k1', 'RS256'), key);
    assert.equal(await source.getKey('k1', 'RS256'), key);
    assert.equal(server.fetchCount, 2);
    // Up to the end of the stale window the key keeps serving, with a bounded number of fetches.
    const staleUntil = T0 + (60 + FETCH.staleIfErrorSeconds) * 1000;
    while (clock < staleUntil - 1) {
      clock = Math.min(clock + 10_000, staleUntil - 1);
      assert.equal(await source.getKey('k1', 'RS256'), key);
    }
    // Backoff 1 s, 2 s, 4 s, … capped at 300 s: about a dozen fetches in 900 s, not one per request.
    assert.ok(server.fetchCount <= 13, `fetched ${server.fetchCount} times in ${FETCH.staleIfErrorSeconds}s`);
    clock = staleUntil;
    assert.equal(source.getKeySync('k1', 'RS256'), undefined);
    await assert.rejects(
      source.getKey('k1', 'RS256'),
      unavailable(/unavailable: the key server at .* could not be reached/),
    );
    assert.equal(source.health().healthy, false);
    assert.equal(source.health().keyCount, 0);

    server.setBehaviour({ type: 'ok' });
    seconds(FETCH.cooldownSeconds * 16);
    assert.ok((await source.getKey('k1', 'RS256')).equals(k1));
    assert.equal(source.health().healthy, true);
  });

  it('backs off while failing with no keys: 503 with Retry-After, no fetch per request', async () => {
    const server = await serve({ behaviour: { type: 'status', status: 500 } });
    const source = sourceFor(server);
    await assert.rejects(
      source.getKey('k1', 'RS256'),
      unavailable(/the key server at http:\/\/127\.0\.0\.1:\d+\/jwks answered 500/),
    );
    for (let i = 0; i < 20; i++)
      await assert.rejects(source.getKey('k1', 'RS256'), unavailable(/answered 500/));
    assert.equal(server.fetchCount, 1);
    seconds(1);
    await assert.rejects(source.getKey('k1', 'RS256'), unavailable(/answered 500/));
    assert.equal(server.fetchCount, 2, 'retried after 1 s');
    seconds(1);
    await assert.rejects(source.getKey('k1', 'RS256'), unavailable(/answered 500/));
    assert.equal(server.fetchCount, 2, 'the next retry waits 2 s');
  });

  it('uses a key server that was down at start as soon as it is back (after a short backoff)', async () => {
    const server = await serve({ behaviour: { type: 'down' } });
    const source = sourceFor(server);
    await source.prefetch();
    assert.equal(source.health().healthy, false);
    server.setBehaviour({ type: 'ok' });
    seconds(1);
    assert.ok((await source.getKey('k1', 'RS256')).equals(k1));
    assert.equal(source.health().healthy, true);
  });

  it('answers an unknown kid with 503 while the key server fails (it cannot tell new from junk)', async () => {
    const server = await serve();
    const source = sourceFor(server);
    await source.prefetch();
    server.setBehaviour({ type: 'status', status: 500 });
    seconds(FETCH.cooldownSeconds);
    await assert.rejects(source.getKey('new', 'RS256'), unavailable(/answered 500/));
    await assert.rejects(source.getKey('other', 'RS256'), unavailable(/answered 500/));
    assert.equal(server.fetchCount, 2);
    assert.ok((await source.getKey('k1', 'RS256')).equals(k1), 'fresh keys keep serving');
  });

  it('caps the response size, with and without Content-Length, aborting early', async () => {
    for (const contentLength of [true, false]) {
      const server = await serve({ behaviour: { type: 'huge', bytes: 50 * 1024 * 1024, contentLength } });
      const source = sourceFor(server, { maxResponseBytes: 4096 });
      const message = contentLength
        ? /sent 52428800 bytes, more than the limit of 4096/
        : /more than the limit of 4096/;
      await assert.rejects(source.getKey('k1', 'RS256'), unavailable(message));
      // The server saw the request aborted: the cap stopped the download, not its end.
      await server.waitForAborted(1);
    }
  });

  it('times out a slow server, also one that stalls in the middle of the body', async () => {
    for (const phase of ['headers', 'body'] as const) {
      const server = await serve({ behaviour: { type: 'slow', delayMs: 5000, phase } });
      const source = sourceFor(server, { timeoutMs: 150 });
      // The server would answer after 5 s: this message can only come from the 150 ms deadline.
      await assert.rejects(source.getKey('k1', 'RS256'), unavailable(/did not answer within 150 ms/));
    }
  });

  it('rejects a body that is not JSON or not a JWKS', async () => {
    for (const [body, message] of [
      ['{"keys": [', /did not answer JSON/],
      ['{"keys": 1}', /did not answer a JWKS/],
      ['[]', /did not answer a JWKS/],
      ['{"keys": []}', /published no usable signing key/],
    ] as const) {
      const server = await serve({ behaviour: { type: 'body', body } });
      await assert.rejects(sourceFor(server).getKey('k1', 'RS256'), unavailable(message));
    }
  });

  it('does not follow a redirect, nor contact its target', async () => {
    const target = await serve();
    const server = await serve({ behaviour: { type: 'redirect', location: target.jwksUri } });
    await assert.rejects(
      sourceFor(server).getKey('k1', 'RS256'),
      unavailable(/answered 302 .*redirects are not followed/),
    );
    assert.equal(target.fetchCount, 0);
  });

  it('ignores encryption, symmetric, weak, mismatched, private, material-less and duplicate keys', async () => {
    const server = await serve({
      keys: {
        keys: [
          jwk(k1, 'good'),
          jwk(k2, 'enc', { use: 'enc' }),
          { kty: 'oct', kid: 'oct', k: 'c2VjcmV0', alg: 'HS256' },
          { kty: 'oct', kid: 'oct-rs', k: 'c2VjcmV0', alg: 'RS256' },
          jwk(small, 'small'),
          publicJwk(ec.publicKey, { kid: 'ec-rs256', alg: 'RS256' }),
          jwk(k2, 'rs512', { alg: 'RS512' }),
          jwk(k2, 'ops', { key_ops: ['encrypt'] }),
          { ...jwk(k2, 'private'), d: 'AQAB' },
          { kty: 'RSA', kid: 'no-material', e: 'AQAB' },
          { kty: 'RSA', kid: 'garbage', n: '!!!', e: 'AQAB' },
          jwk(k2, 'dup'),
          jwk(k3, 'dup'),
          publicJwk(ec.publicKey, { kid: 'ec' }),
          jwk(k3, 'verify-op', { key_ops: ['verify'] }),
        ],
      },
    });
    const source = sourceFor(server, {}, ['RS256', 'ES256']);
    await source.prefetch();
    assert.equal(source.health().keyCount, 4);
    assert.ok((await source.getKey('good', 'RS256')).equals(k1));
    assert.ok((await source.getKey('dup', 'RS256')).equals(k2));
    assert.ok((await source.getKey('ec', 'ES256')).equals(ec.publicKey));
    assert.ok((await source.getKey('verify-op', 'RS256')).equals(k3));
    for (const kid of [
      'enc',
      'oct',
      'oct-rs',
      'small',
      'ec-rs256',
      'rs512',
      'ops',
      'private',
      'no-material',
      'garbage',
    ]) {
      await assert.rejects(source.getKey(kid, 'RS256'), KEY_UNKNOWN, kid);
    }
    await assert.rejects(source.getKey('good', 'ES256'), { code: 'ERR_TOKEN_ALG_NOT_ALLOWED', status: 401 });
    await assert.rejects(source.getKey('good', 'PS256'), { code: 'ERR_TOKEN_ALG_NOT_ALLOWED', status: 401 });
    assert.equal(server.fetchCount, 1);
  });

  it('takes at most maxKeys keys', () => {
    const entries = [jwk(k1, 'a'), jwk(k2, 'b'), jwk(k3, 'c')];
    const imported = importVerificationKeys(entries, ['RS256'], 2);
    assert.deepEqual(
      imported.keys.map((key) => key.kid),
      ['a', 'b'],
    );
    assert.equal(imported.ignored, 1);
  });

  it('picks up a new key and drops a removed or replaced one, reporting it via onKeysChanged', async () => {
    const server = await serve({ cacheControl: 'max-age=60' });
    const source = sourceFor(server);
    const reports: string[][] = [];
    source.onKeysChanged((removed) => reports.push(removed));
    await source.prefetch();
    const first = source.getKeySync('k1', 'RS256');

    server.setKeys({ keys: [jwk(k1, 'k1'), jwk(k2, 'k2')] });
    seconds(FETCH.cooldownSeconds);
    assert.ok((await source.getKey('k2', 'RS256')).equals(k2));
    assert.equal(source.getKeySync('k1', 'RS256'), first, 'an unchanged key keeps its KeyObject');
    assert.deepEqual(reports, []);

    server.setKeys({ keys: [jwk(k2, 'k2'), jwk(k3, 'k1-reused'), jwk(k1, 'k3')] });
    seconds(60);
    await source.getKey('k2', 'RS256');
    server.setKeys({ keys: [jwk(k2, 'k2'), jwk(k1, 'k1-reused')] });
    seconds(60);
    await source.getKey('k2', 'RS256');
    assert.deepEqual(reports, [['k1'], ['k1-reused', 'k3']]);
    assert.equal(source.getKeySync('k1', 'RS256'), undefined);
    await assert.rejects(source.getKey('k1', 'RS256'), KEY_UNKNOWN);
    assert.ok((await source.getKey('k1-reused', 'RS256')).equals(k1));
  });

  it('accepts a token without kid only when exactly one key fits its alg', async () => {
    const server = await serve({ keys: { keys: [jwk(k1, 'k1'), publicJwk(ec.publicKey, { kid: 'ec' })] } });
    const source = sourceFor(server, {}, ['RS256', 'ES256']);
    assert.ok((await source.getKey(undefined, 'ES256')).equals(ec.publicKey));
    assert.equal(source.getKeySync(undefined, 'RS256'), source.getKeySync('k1', 'RS256'));
    server.setKeys({ keys: [jwk(k1, 'k1'), jwk(k2, 'k2')] });
    seconds(FETCH.cooldownSeconds);
    await source.getKey('k2', 'RS256');
    assert.equal(source.getKeySync(undefined, 'RS256'), undefined);
    await assert.rejects(source.getKey(undefined, 'RS256'), {
      ...KEY_UNKNOWN,
      message: /no kid and .* publishes 2 keys/,
    });
  });

  it('keeps sources independent: one slow source does not delay another', async () => {
    const slow = await serve({ behaviour: { type: 'slow', delayMs: 5000 } });
    const fast = await serve();
    const slowSource = sourceFor(slow, { timeoutMs: 3000 });
    const fastSource = sourceFor(fast);
    let slowSettled = false;
    const pending = slowSource
      .getKey('k1', 'RS256')
      .catch((err: unknown) => err)
      .finally(() => (slowSettled = true));
    assert.ok((await fastSource.getKey('k1', 'RS256')).equals(k1));
    assert.equal(slowSettled, false, 'the fast source answered while the slow one was still waiting');
    slowSource.close();
    assert.match(String(await pending), /cancelled/);
  });

  it('prefetches at start-up without throwing and reports health', async () => {
    const server = await serve({ behaviour: { type: 'status', status: 503 } });
    const source = sourceFor(server);
    assert.deepEqual(source.health(), {
      url: server.jwksUri,
      healthy: false,
      keyCount: 0,
      lastFetchAt: null,
      keysAgeSeconds: null,
      lastError: null,
      fetchCount: 0,
      stale: false,
    });
    await source.prefetch();
    assert.equal(source.health().healthy, false);
    assert.equal(source.health().lastError, `the key server at ${server.jwksUri} answered 503`);

    server.setBehaviour({ type: 'ok' });
    seconds(FETCH.cooldownSeconds);
    await source.prefetch();
    seconds(12);
    assert.deepEqual(source.health(), {
      url: server.jwksUri,
      healthy: true,
      keyCount: 1,
      lastFetchAt: T0 + 30_000,
      keysAgeSeconds: 12,
      lastError: null,
      fetchCount: 2,
      stale: false,
    });
    assert.ok(source.getKeySync('k1', 'RS256')?.equals(k1));
  });

  it('rejects unusable options at construction, naming the field', () => {
    const make = (
      url: string,
      algorithms: string[] = ['RS256'],
      fetch: Partial<JwksFetchConfiguration> = {},
    ) =>
      new RemoteJwksSource({
        url,
        algorithms: algorithms as AsymmetricAlgorithm[],
        fetch: { ...FETCH, ...fetch },
      });
    assert.throws(() => make('not a url'), {
      name: 'ConfigError',
      message: /publicKeyUrls: "not a url" is not a URL/,
    });
    assert.throws(() => make('ftp://example.com/jwks'), ConfigError);
    assert.throws(() => make('https://u:p@example.com/jwks'), /must not embed a user name or password/);
    assert.throws(() => make('https://example.com/jwks', []), /accepts no algorithms/);
    assert.throws(() => make('https://example.com/jwks', ['HS256']), /"HS256" .* is not accepted/);
    assert.throws(
      () => make('https://example.com/jwks', ['RS256'], { timeoutMs: 0 }),
      /jwks\.timeoutMs must be a positive/,
    );
    assert.throws(
      () => make('https://example.com/jwks', ['RS256'], { maxCacheSeconds: 1 }),
      /maxCacheSeconds \(1\)/,
    );
  });
});
