import assert from 'node:assert/strict';
import { MemoryReplayCache } from '../lib/dpop/replay-cache.js';

const T = 1_800_000_000_000;

describe('the in-memory DPoP replay cache', function () {
  it('refuses a replay until the proof expires, then allows the key again', function () {
    const cache = new MemoryReplayCache();
    assert.equal(cache.claim('k1', T + 65_000, T), true);
    assert.equal(cache.claim('k1', T + 65_000, T + 1_000), false);
    assert.equal(cache.claim('k2', T + 65_000, T + 1_000), true);
    assert.equal(cache.claim('k1', T + 65_000, T + 64_999), false);
    assert.equal(cache.claim('k1', T + 130_000, T + 65_000), true, 'expired: the key is free again');
    assert.equal(cache.claim('k1', T + 130_000, T + 65_001), false);
  });

  it('never grows past maxEntries and refuses (fails closed) while full of live proofs', function () {
    const cache = new MemoryReplayCache({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) assert.equal(cache.claim(`k${i}`, T + 10_000, T), true);
    assert.equal(cache.claim('one-more', T + 10_000, T + 1), false);
    assert.equal(cache.size, 100);
    assert.equal(cache.claim('k5', T + 10_000, T + 2), false, 'still a replay');
    // Once they expire, room is made again.
    assert.equal(cache.claim('one-more', T + 20_000, T + 10_000), true);
    assert.equal(cache.size, 1);
  });

  it('sweeps expired entries as it grows, so the size follows the live proofs', function () {
    const cache = new MemoryReplayCache({ maxEntries: 1_000_000 });
    // 100 proofs a millisecond, each live for 100 ms: about 10,000 live at any time.
    for (let i = 0; i < 200_000; i++) {
      const now = T + Math.floor(i / 100);
      assert.equal(cache.claim(`k${i}`, now + 100, now), true);
    }
    assert.ok(cache.size <= 2 * 10_100 + 1024, `size ${cache.size}`);
  });

  it('sweeps at least every sweepIntervalMs', function () {
    const cache = new MemoryReplayCache({ sweepIntervalMs: 1_000 });
    for (let i = 0; i < 500; i++) cache.claim(`k${i}`, T + 10, T);
    assert.equal(cache.size, 500);
    cache.claim('late', T + 5_000, T + 2_000);
    assert.equal(cache.size, 1);
  });

  it('rejects a bad maxEntries', function () {
    assert.throws(() => new MemoryReplayCache({ maxEntries: 0 }), /maxEntries/);
  });
});
