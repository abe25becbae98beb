import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { hashToken, tokenLast4 } from '../../lib/store/token-hash.js';
import type { BotStore, PersonalTokenRecord } from '../../lib/store/types.js';
import { T0, bot, isConflict, mint, nextChange } from './store-contract.js';

const DAY = 86_400_000;

/** A fake personal access token record, issued at T0 + 1000 for 7 days unless overridden. */
export function personalToken(
  userName: string,
  overrides: Partial<PersonalTokenRecord> = {},
): PersonalTokenRecord {
  const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  return {
    jti: randomUUID(),
    userName,
    tokenName: 'laptop',
    tokenHash: hashToken(token),
    last4: tokenLast4(token),
    expiry: '7',
    issuedAt: T0 + 1000,
    expiresAt: T0 + 1000 + 7 * DAY,
    issuedBy: userName,
    lastUsedAt: null,
    revokedAt: null,
    scopes: ['tables:read'],
    ...overrides,
  };
}

const sortedJtis = (tokens: ReadonlyArray<{ jti: string }>): string[] => tokens.map((t) => t.jti).sort();

/** Personal access tokens: cases of the store contract, run inside its `describe`. */
export function personalTokenContract(current: () => BotStore): void {
  it('issues, lists (newest first, expired included) and revokes personal tokens', async () => {
    const store = current();
    const old = personalToken('alice', { issuedAt: T0, expiresAt: T0 + 10, expiry: 'OneHour' });
    const unlimited = personalToken('alice', { issuedAt: T0 + 2000, expiresAt: null, expiry: 'Unlimited' });
    const recent = personalToken('alice', { issuedAt: T0 + 3000, scopes: [] });
    const bobs = personalToken('bob');
    for (const token of [old, unlimited, recent, bobs])
      await store.issuePersonalToken(token, token.userName, 10);
    assert.deepEqual(await store.listPersonalTokens('alice'), [recent, unlimited, old]);
    assert.deepEqual(await store.listPersonalTokens('nobody'), []);
    await assert.rejects(
      store.issuePersonalToken({ ...recent, tokenName: 'again' }, 'alice', 10),
      isConflict,
    );

    const revoked = await store.revokePersonalTokens(
      'alice',
      [old.jti, bobs.jti, 'unknown'],
      'alice',
      T0 + 5000,
    );
    assert.deepEqual(revoked, [old.jti], "another person's token and unknown ids are ignored");
    assert.deepEqual(await store.revokePersonalTokens('alice', [old.jti], 'alice', T0 + 5001), [], 'once');
    assert.deepEqual(await store.revokePersonalTokens('alice', [], 'alice', T0 + 5002), []);
    assert.deepEqual(await store.listPersonalTokens('alice'), [recent, unlimited]);
    assert.deepEqual(await store.listPersonalTokens('bob'), [bobs]);

    const all = await store.revokePersonalTokens('alice', 'all', 'admin', T0 + 6000);
    assert.deepEqual(all.sort(), [recent.jti, unlimited.jti].sort());
    assert.deepEqual(await store.listPersonalTokens('alice'), []);
    assert.deepEqual(await store.revokePersonalTokens('alice', 'all', 'admin', T0 + 7000), []);
    assert.deepEqual(await store.listPersonalTokens('bob'), [bobs], "bob's token is untouched");
  });

  it('refuses a personal token past the limit of live ones; expired and revoked ones do not count', async () => {
    const store = current();
    const at = T0 + 1000;
    const expired = personalToken('alice', { issuedAt: T0 - 2 * DAY, expiresAt: at });
    const first = personalToken('alice');
    const second = personalToken('alice', { expiresAt: null });
    for (const token of [expired, first, second]) await store.issuePersonalToken(token, 'alice', 3);
    await store.issuePersonalToken(personalToken('bob'), 'bob', 3); // another person's don't count
    const third = personalToken('alice');
    await store.issuePersonalToken(third, 'alice', 3); // expired one not counted: 3 live now
    const refused = personalToken('alice');
    await assert.rejects(store.issuePersonalToken(refused, 'alice', 3), {
      ...isConflict,
      message: 'You already hold 3 live personal access tokens, the most allowed; revoke one first.',
    });
    assert.equal((await store.listPersonalTokens('alice')).length, 4, 'the refused one is not stored');
    await store.revokePersonalTokens('alice', [first.jti], 'alice', at);
    await store.issuePersonalToken(refused, 'alice', 3);
    assert.deepEqual(
      sortedJtis(await store.listLivePersonalTokens(at, 'alice')),
      sortedJtis([second, third, refused]),
    );
  });

  it('lets exactly one of two concurrent issues at the limit through', async () => {
    const store = current();
    await store.issuePersonalToken(personalToken('alice'), 'alice', 2);
    const results = await Promise.allSettled([
      store.issuePersonalToken(personalToken('alice'), 'alice', 2),
      store.issuePersonalToken(personalToken('alice'), 'alice', 2),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal((await store.listPersonalTokens('alice')).length, 2);
  });

  it('lists live personal tokens of one person or all, as lean records', async () => {
    const store = current();
    const at = T0 + 5000;
    const live = personalToken('alice');
    const unlimited = personalToken('bob', { expiresAt: null });
    const expired = personalToken('alice', { expiresAt: at });
    const revoked = personalToken('bob');
    for (const token of [live, unlimited, expired, revoked]) await store.issuePersonalToken(token, 'x', 10);
    await store.revokePersonalTokens('bob', [revoked.jti], 'bob', at);
    const lean = ({ jti, userName }: PersonalTokenRecord) => ({ jti, userName });
    const all = await store.listLivePersonalTokens(at);
    assert.deepEqual(
      all.sort((a, b) => (a.jti < b.jti ? -1 : 1)),
      [live, unlimited].map(lean).sort((a, b) => (a.jti < b.jti ? -1 : 1)),
    );
    assert.deepEqual(await store.listLivePersonalTokens(at, 'alice'), [lean(live)]);
    assert.deepEqual(
      sortedJtis(await store.listLivePersonalTokens(at - 1, 'alice')),
      sortedJtis([live, expired]),
    );
    assert.deepEqual(await store.listLivePersonalTokens(at, 'nobody'), []);
  });

  it("audits personal tokens under the person's name, and tells onChange {userName}", async () => {
    const store = current();
    await store.createBot(bot('ingestion-bot'));
    const changes: unknown[] = [];
    store.onChange((c) => changes.push(c));
    const token = personalToken('alice', { scopes: ['tables:read', 'tables:write'] });
    await store.issuePersonalToken(token, 'alice', 10);
    await store.revokePersonalTokens('alice', [token.jti], 'admin', T0 + 2000);
    await store.revokePersonalTokens('alice', [token.jti], 'admin', T0 + 3000); // nothing: no change
    assert.deepEqual(changes, [{ userName: 'alice' }, { userName: 'alice' }]);

    const rows = await store.listAudit({ userName: 'alice' });
    assert.deepEqual(
      rows.map(({ action, actor, botName, userName, jti, detail, at }) => ({
        action,
        actor,
        botName,
        userName,
        jti,
        detail,
        at,
      })),
      [
        {
          action: 'personal-token.revoke',
          actor: 'admin',
          botName: '',
          userName: 'alice',
          jti: token.jti,
          detail: null,
          at: T0 + 2000,
        },
        {
          action: 'personal-token.issue',
          actor: 'alice',
          botName: '',
          userName: 'alice',
          jti: token.jti,
          detail: 'expiry 7, scopes tables:read tables:write',
          at: T0 + 1000,
        },
      ],
    );
    assert.deepEqual(await store.listAudit({ userName: 'bob' }), []);
    const botRows = await store.listAudit({ botName: 'ingestion-bot' });
    assert.deepEqual(
      botRows.map((e) => [e.action, e.userName]),
      [['bot.create', null]],
    );
    assert.equal((await store.listAudit()).length, 3);
    assert.ok(!JSON.stringify(rows).includes(token.tokenHash), 'no hash in the audit log');
  });

  it('recordLastUsed moves a personal token forward too', async () => {
    const store = current();
    const token = personalToken('alice');
    await store.issuePersonalToken(token, 'alice', 10);
    await store.recordLastUsed([
      { jti: token.jti, at: T0 + 30 },
      { jti: token.jti, at: T0 + 20 },
    ]);
    await store.recordLastUsed([{ jti: token.jti, at: T0 + 10 }]);
    assert.equal((await store.listPersonalTokens('alice'))[0]?.lastUsedAt, T0 + 30);
  });
}

/** DPoP: bots that require it, bound tokens, the shared replay cache. */
export function dpopContract(current: () => BotStore): void {
  it('keeps requireDpop; setRequireDpop is audited and told', async () => {
    const store = current();
    await store.createBot(bot('dpop-bot', { requireDpop: true }));
    await store.createBot(bot('plain-bot'));
    assert.equal((await store.getBot('dpop-bot'))?.requireDpop, true);
    assert.deepEqual(
      (await store.listBots()).map((b) => [b.name, b.requireDpop]),
      [
        ['dpop-bot', true],
        ['plain-bot', false],
      ],
    );
    const told = nextChange(store, (c) => c.botName === 'plain-bot');
    assert.equal(await store.setRequireDpop('plain-bot', true, 'carol', T0 + 100), true);
    await told;
    assert.equal((await store.getBot('plain-bot'))?.requireDpop, true);
    assert.equal(await store.setRequireDpop('dpop-bot', false, 'carol', T0 + 200), true);
    assert.equal((await store.getBot('dpop-bot'))?.requireDpop, false);
    assert.equal(await store.setRequireDpop('nobody', true, 'carol', T0), false);
    const [latest] = await store.listAudit({ botName: 'dpop-bot', limit: 1 });
    assert.deepEqual(
      [latest?.action, latest?.actor, latest?.detail, latest?.userName],
      ['bot.update', 'carol', 'requireDpop false', null],
    );
    // A record without the field (an older caller) is a bot that does not require DPoP.
    const { requireDpop: _, ...legacy } = bot('legacy-bot');
    await store.createBot(legacy as Parameters<BotStore['createBot']>[0]);
    assert.equal((await store.getBot('legacy-bot'))?.requireDpop, false);
  });

  it('keeps the key a token is bound to, and audits it', async () => {
    const store = current();
    await store.createBot(bot('dpop-bot'));
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const bound = mint('dpop-bot', { dpopJkt: jkt, scopes: ['tables:read'] }).record;
    await store.issueToken(bound, 'admin');
    assert.deepEqual(await store.getCurrentToken('dpop-bot'), bound);
    assert.deepEqual(await store.listCurrentTokens(), [bound]);
    const [issued] = await store.listAudit({ botName: 'dpop-bot', limit: 1 });
    assert.equal(issued?.detail, `expiry 7, scopes tables:read, bound to key ${jkt}`);
    const unbound = mint('dpop-bot', { issuedAt: T0 + 2000 }).record;
    await store.issueToken(unbound, 'admin');
    assert.equal((await store.getCurrentToken('dpop-bot'))?.dpopJkt, null);
  });

  it('claims a DPoP proof once until it expires', async () => {
    const store = current();
    const changes: unknown[] = [];
    store.onChange((c) => changes.push(c));
    assert.equal(await store.claimDpopProof('proof-1', T0 + 60_000, T0), true);
    assert.equal(await store.claimDpopProof('proof-1', T0 + 60_000, T0 + 1), false, 'a replay');
    assert.equal(await store.claimDpopProof('proof-1', T0 + 90_000, T0 + 59_999), false);
    assert.equal(await store.claimDpopProof('proof-2', T0 + 60_000, T0 + 2), true, 'another proof');
    assert.equal(
      await store.claimDpopProof('proof-1', T0 + 120_000, T0 + 60_000),
      true,
      'expired: free again',
    );
    assert.equal(await store.claimDpopProof('proof-1', T0 + 120_000, T0 + 60_001), false);
    // Many proofs, pruned as they expire: each is still claimed exactly once.
    for (let i = 0; i < 200; i++) {
      const now = T0 + 200_000 + i * 10;
      assert.equal(await store.claimDpopProof(`many-${i}`, now + 50, now), true);
    }
    assert.equal(await store.claimDpopProof('many-199', T0 + 300_000, T0 + 200_000 + 1995), false);
    assert.deepEqual(changes, [], 'a proof is not a registry change');
  });
}
