import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { hashToken, tokenLast4 } from '../../lib/store/token-hash.js';
import type { BotRecord, BotStore, BotTokenRecord, StoreChange } from '../../lib/store/types.js';
import { dpopContract, personalTokenContract } from './personal-token-contract.js';

/** Shared fixtures and the contract suite every BotStore implementation must pass. */

export const T0 = 1_700_000_000_000;

export function bot(name: string, overrides: Partial<BotRecord> = {}): BotRecord {
  return {
    name,
    displayName: `${name} (bot)`,
    description: 'runs ingestion',
    createdAt: T0,
    createdBy: 'admin',
    allowedScopes: [],
    requireDpop: false,
    ...overrides,
  };
}

/** A fake compact token and the record the registry would store for it. */
export function mint(
  botName: string,
  overrides: Partial<BotTokenRecord> = {},
): { token: string; record: BotTokenRecord } {
  const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const record: BotTokenRecord = {
    botName,
    jti: randomUUID(),
    tokenHash: hashToken(token),
    last4: tokenLast4(token),
    expiry: '7',
    issuedAt: T0 + 1000,
    expiresAt: T0 + 1000 + 7 * 86_400_000,
    issuedBy: 'admin',
    lastUsedAt: null,
    revokedAt: null,
    scopes: null,
    dpopJkt: null,
    ...overrides,
  };
  return { token, record };
}

/** Resolves with the first change matching `predicate`, or rejects after `ms`. */
export function nextChange(
  store: BotStore,
  predicate: (c: StoreChange) => boolean,
  ms = 1000,
): Promise<StoreChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching change within ${ms} ms`));
    }, ms);
    const off = store.onChange((change) => {
      if (!predicate(change)) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

export const isConflict = { status: 409, code: 'ERR_CONFLICT' };
/** The behaviour every store shares. `open` returns a fresh, initialised, empty store. */
export function contract(
  kind: string,
  open: () => Promise<BotStore>,
  prepare?: (ctx: Mocha.Context) => Promise<void>,
): void {
  describe(`${kind} store: contract`, function () {
    let store: BotStore;
    if (prepare)
      before(async function () {
        await prepare(this);
      });
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    personalTokenContract(() => store);
    dpopContract(() => store);

    it('creates, lists and gets bots; a duplicate name is a 409 conflict', async () => {
      await store.createBot(bot('ingestion-bot'));
      await store.createBot(bot('airflow-bot', { description: '', createdAt: T0 + 5 }));
      assert.deepEqual(await store.listBots(), [
        bot('airflow-bot', { description: '', createdAt: T0 + 5 }),
        bot('ingestion-bot'),
      ]);
      assert.deepEqual(await store.getBot('ingestion-bot'), bot('ingestion-bot'));
      assert.equal(await store.getBot('nobody'), null);
      await assert.rejects(store.createBot(bot('ingestion-bot', { displayName: 'other' })), isConflict);
      assert.equal((await store.getBot('ingestion-bot'))?.displayName, 'ingestion-bot (bot)');
    });

    it('issues a token that becomes current; unknown bots are 404', async () => {
      await store.createBot(bot('ingestion-bot'));
      const { record } = mint('ingestion-bot', { expiry: 'Unlimited', expiresAt: null });
      assert.deepEqual(await store.issueToken(record, 'admin'), { replaced: null });
      assert.deepEqual(await store.getCurrentToken('ingestion-bot'), record);
      assert.deepEqual(await store.listCurrentTokens(), [record]);
      await assert.rejects(store.issueToken(mint('ghost').record, 'admin'), {
        status: 404,
        code: 'ERR_NOT_FOUND',
      });
      assert.equal(await store.getCurrentToken('ghost'), null);
    });

    it('re-issuing replaces the token: the old one is revoked at the new issue time, one stays current', async () => {
      await store.createBot(bot('ingestion-bot'));
      await store.createBot(bot('airflow-bot'));
      const first = mint('ingestion-bot').record;
      const other = mint('airflow-bot').record;
      const second = mint('ingestion-bot', { issuedAt: T0 + 9000, issuedBy: 'alice' }).record;
      await store.issueToken(first, 'admin');
      await store.issueToken(other, 'admin');
      assert.deepEqual(await store.issueToken(second, 'alice'), { replaced: first.jti });
      assert.deepEqual(await store.getCurrentToken('ingestion-bot'), second);
      const current = await store.listCurrentTokens();
      assert.deepEqual(current.map((t) => t.jti).sort(), [second.jti, other.jti].sort());
      const revoke = (await store.listAudit({ botName: 'ingestion-bot' })).find(
        (e) => e.action === 'token.revoke',
      );
      assert.equal(revoke?.jti, first.jti);
      assert.equal(revoke?.at, T0 + 9000);
      assert.equal(revoke?.actor, 'alice');
    });

    it('revokes the current token once; the bot then has none', async () => {
      await store.createBot(bot('ingestion-bot'));
      const { record } = mint('ingestion-bot');
      await store.issueToken(record, 'admin');
      assert.equal(await store.revokeToken('ingestion-bot', 'bob', T0 + 5000), record.jti);
      assert.equal(await store.getCurrentToken('ingestion-bot'), null);
      assert.deepEqual(await store.listCurrentTokens(), []);
      assert.equal(await store.revokeToken('ingestion-bot', 'bob', T0 + 6000), null);
      assert.equal(await store.revokeToken('ghost', 'bob', T0 + 6000), null);
    });

    it('deleting a bot revokes its token; unknown bots answer false', async () => {
      await store.createBot(bot('ingestion-bot'));
      await store.issueToken(mint('ingestion-bot').record, 'admin');
      assert.equal(await store.deleteBot('ingestion-bot', 'admin', T0 + 7000), true);
      assert.equal(await store.getBot('ingestion-bot'), null);
      assert.equal(await store.getCurrentToken('ingestion-bot'), null);
      assert.deepEqual(await store.listCurrentTokens(), []);
      assert.equal(await store.deleteBot('ingestion-bot', 'admin', T0 + 8000), false);
      await store.createBot(bot('ingestion-bot'));
      assert.equal(
        await store.getCurrentToken('ingestion-bot'),
        null,
        'a re-created bot starts without a token',
      );
    });

    it('audits every change, newest first, filtered and limited, and never records the token', async () => {
      await store.createBot(bot('ingestion-bot', { createdBy: 'carol' }));
      await store.createBot(bot('airflow-bot'));
      const first = mint('ingestion-bot');
      const second = mint('ingestion-bot', { issuedAt: T0 + 2000 });
      await store.issueToken(first.record, 'carol');
      await store.issueToken(second.record, 'carol');
      await store.revokeToken('ingestion-bot', 'dave', T0 + 3000);
      await store.deleteBot('ingestion-bot', 'erin', T0 + 4000);
      const audit = await store.listAudit({ botName: 'ingestion-bot' });
      assert.deepEqual(
        audit.map(({ action, actor, jti, at }) => ({ action, actor, jti, at })),
        [
          { action: 'bot.delete', actor: 'erin', jti: null, at: T0 + 4000 },
          { action: 'token.revoke', actor: 'dave', jti: second.record.jti, at: T0 + 3000 },
          { action: 'token.issue', actor: 'carol', jti: second.record.jti, at: T0 + 2000 },
          { action: 'token.revoke', actor: 'carol', jti: first.record.jti, at: T0 + 2000 },
          { action: 'token.issue', actor: 'carol', jti: first.record.jti, at: T0 + 1000 },
          { action: 'bot.create', actor: 'carol', jti: null, at: T0 },
        ],
      );
      assert.ok(audit.every((e) => typeof e.id === 'number'));
      assert.equal((await store.listAudit()).length, 7);
      assert.deepEqual(
        (await store.listAudit({ limit: 2 })).map((e) => e.action),
        ['bot.delete', 'token.revoke'],
      );
      const dump = JSON.stringify(await store.listAudit());
      for (const secret of [first.token, second.token, first.record.tokenHash, second.record.tokenHash]) {
        assert.ok(!dump.includes(secret), 'the audit log must not contain a token or its hash');
      }
    });

    it('recordLastUsed keeps the latest use of each token', async () => {
      await store.createBot(bot('ingestion-bot'));
      const { record } = mint('ingestion-bot');
      await store.issueToken(record, 'admin');
      await store.recordLastUsed([
        { jti: record.jti, at: T0 + 10 },
        { jti: record.jti, at: T0 + 30 },
        { jti: 'unknown-jti', at: T0 + 99 },
        { jti: record.jti, at: T0 + 20 },
      ]);
      assert.equal((await store.getCurrentToken('ingestion-bot'))?.lastUsedAt, T0 + 30);
      await store.recordLastUsed([{ jti: record.jti, at: T0 + 15 }]);
      await store.recordLastUsed([]);
      assert.equal(
        (await store.getCurrentToken('ingestion-bot'))?.lastUsedAt,
        T0 + 30,
        'never moves backwards',
      );
    });

    it('20 concurrent issues for one bot leave exactly one current token', async () => {
      await store.createBot(bot('ingestion-bot'));
      const records = Array.from(
        { length: 20 },
        (_, i) => mint('ingestion-bot', { issuedAt: T0 + i }).record,
      );
      const results = await Promise.all(records.map((r) => store.issueToken(r, 'admin')));
      const current = (await store.listCurrentTokens()).filter((t) => t.botName === 'ingestion-bot');
      assert.equal(current.length, 1);
      const replaced = results.map((r) => r.replaced).filter((jti) => jti !== null);
      assert.equal(replaced.length, 19, 'every issue but the first replaced a token');
      assert.equal(new Set(replaced).size, 19, 'each token was replaced once');
      assert.ok(!replaced.includes(current[0]!.jti), 'the current token was not replaced');
    });

    it('tells onChange listeners about its own writes, and stops after unsubscribe', async () => {
      const seen: string[] = [];
      const off = store.onChange((c) => seen.push(c.botName ?? `user:${c.userName}`));
      await store.createBot(bot('ingestion-bot'));
      await store.issueToken(mint('ingestion-bot').record, 'admin');
      await store.revokeToken('ingestion-bot', 'admin', T0 + 1);
      await store.revokeToken('ingestion-bot', 'admin', T0 + 2); // nothing to revoke: no change
      await store.deleteBot('ingestion-bot', 'admin', T0 + 3);
      off();
      await store.createBot(bot('airflow-bot'));
      assert.deepEqual(seen, ['ingestion-bot', 'ingestion-bot', 'ingestion-bot', 'ingestion-bot']);
    });

    it("keeps a bot's allowed scopes and a token's scopes; setAllowedScopes is audited and told", async () => {
      await store.createBot(bot('ingestion-bot', { allowedScopes: ['tables:read', 'tables:write'] }));
      assert.deepEqual((await store.getBot('ingestion-bot'))?.allowedScopes, ['tables:read', 'tables:write']);
      const scoped = mint('ingestion-bot', { scopes: ['tables:read'] }).record;
      await store.issueToken(scoped, 'admin');
      assert.deepEqual(await store.getCurrentToken('ingestion-bot'), scoped);
      const none = mint('ingestion-bot', { issuedAt: T0 + 2000, scopes: [] }).record;
      await store.issueToken(none, 'admin');
      assert.deepEqual(
        (await store.listCurrentTokens())[0]?.scopes,
        [],
        'an empty set is not "minted before scopes"',
      );

      const told = nextChange(store, (c) => c.botName === 'ingestion-bot');
      assert.equal(await store.setAllowedScopes('ingestion-bot', ['tables:read'], 'carol', T0 + 3000), true);
      await told;
      assert.deepEqual(await store.listBots(), [bot('ingestion-bot', { allowedScopes: ['tables:read'] })]);
      assert.equal(await store.setAllowedScopes('nobody', ['x'], 'carol', T0), false);
      const [latest] = await store.listAudit({ botName: 'ingestion-bot', limit: 1 });
      assert.deepEqual(
        { action: latest?.action, actor: latest?.actor, detail: latest?.detail },
        { action: 'bot.update', actor: 'carol', detail: 'allowedScopes tables:read' },
      );
      assert.equal(await store.setAllowedScopes('ingestion-bot', [], 'carol', T0 + 4000), true);
      assert.deepEqual((await store.getBot('ingestion-bot'))?.allowedScopes, []);
    });
  });
}
