import { MemoryReplayCache } from '../dpop/replay-cache.js';
import { conflict, notFound } from '../errors.js';
import { Listeners } from './listeners.js';
import {
  BOT_DELETED_DETAIL,
  REPLACED_DETAIL,
  auditLimit,
  issueDetail,
  latestUses,
  personalTokenLimitReached,
  requireDpopDetail,
  scopesDetail,
} from './store-helpers.js';
import type {
  AuditEntry,
  BotRecord,
  BotStore,
  BotTokenRecord,
  ListAuditOptions,
  LivePersonalToken,
  PersonalTokenRecord,
  StoreChange,
} from './types.js';

/**
 * An in-process store for tests and demos: nothing survives the process, nothing is shared with
 * other instances. Every method body is synchronous, so each operation is atomic.
 */
export class MemoryStore implements BotStore {
  readonly kind = 'memory';
  readonly #bots = new Map<string, BotRecord>();
  /** Every token ever issued, by jti (revoked ones stay, as in the persistent stores). */
  readonly #tokens = new Map<string, BotTokenRecord>();
  /** botName → jti of its current token. */
  readonly #current = new Map<string, string>();
  /** Every personal token ever issued, by jti (revoked ones stay). */
  readonly #personalTokens = new Map<string, PersonalTokenRecord>();
  /**
   * The DPoP replay cache: bounded (200,000 proofs, ≈ 24 MB); when full of proofs still inside
   * their window it refuses new ones — fails closed — rather than grow.
   */
  readonly #dpopProofs = new MemoryReplayCache();
  readonly #audit: AuditEntry[] = [];
  readonly #changes = new Listeners<StoreChange>();

  init(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#changes.clear();
    return Promise.resolve();
  }

  listBots(): Promise<BotRecord[]> {
    const bots = [...this.#bots.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return Promise.resolve(bots.map(copyBot));
  }

  getBot(name: string): Promise<BotRecord | null> {
    const bot = this.#bots.get(name);
    return Promise.resolve(bot === undefined ? null : copyBot(bot));
  }

  createBot(bot: BotRecord): Promise<void> {
    return this.#write({ botName: bot.name }, () => {
      if (this.#bots.has(bot.name)) throw conflict(`Bot "${bot.name}" already exists.`);
      this.#bots.set(bot.name, copyBot({ ...bot, requireDpop: bot.requireDpop === true }));
      this.#log(bot.createdAt, bot.createdBy, 'bot.create', bot.name, null, scopesDetail(bot.allowedScopes));
    });
  }

  setAllowedScopes(
    name: string,
    allowedScopes: readonly string[],
    actor: string,
    at: number,
  ): Promise<boolean> {
    const bot = this.#bots.get(name);
    if (bot === undefined) return Promise.resolve(false);
    return this.#write({ botName: name }, () => {
      bot.allowedScopes = [...allowedScopes];
      this.#log(at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return true;
    });
  }

  setRequireDpop(name: string, requireDpop: boolean, actor: string, at: number): Promise<boolean> {
    const bot = this.#bots.get(name);
    if (bot === undefined) return Promise.resolve(false);
    return this.#write({ botName: name }, () => {
      bot.requireDpop = requireDpop;
      this.#log(at, actor, 'bot.update', name, null, requireDpopDetail(requireDpop));
      return true;
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    if (!this.#bots.has(name)) return Promise.resolve(false);
    return this.#write({ botName: name }, () => {
      this.#revoke(name, actor, at, BOT_DELETED_DETAIL);
      this.#bots.delete(name);
      this.#log(at, actor, 'bot.delete', name, null, null);
      return true;
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#write({ botName: token.botName }, () => {
      if (!this.#bots.has(token.botName)) throw notFound(`Bot "${token.botName}" not found.`);
      if (this.#tokens.has(token.jti)) throw conflict(`Token id "${token.jti}" is already used.`);
      const replaced = this.#revoke(token.botName, actor, token.issuedAt, REPLACED_DETAIL);
      this.#tokens.set(token.jti, { ...copyToken(token), revokedAt: null, dpopJkt: token.dpopJkt ?? null });
      this.#current.set(token.botName, token.jti);
      this.#log(token.issuedAt, actor, 'token.issue', token.botName, token.jti, issueDetail(token));
      return { replaced };
    });
  }

  revokeToken(botName: string, actor: string, at: number): Promise<string | null> {
    if (!this.#current.has(botName)) return Promise.resolve(null);
    return this.#write({ botName }, () => this.#revoke(botName, actor, at, null));
  }

  getCurrentToken(botName: string): Promise<BotTokenRecord | null> {
    const jti = this.#current.get(botName);
    const token = jti === undefined ? undefined : this.#tokens.get(jti);
    return Promise.resolve(token === undefined ? null : copyToken(token));
  }

  listCurrentTokens(): Promise<BotTokenRecord[]> {
    const tokens: BotTokenRecord[] = [];
    for (const jti of this.#current.values()) {
      const token = this.#tokens.get(jti);
      if (token !== undefined) tokens.push(copyToken(token));
    }
    return Promise.resolve(tokens);
  }

  recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void> {
    for (const [jti, at] of latestUses(uses)) {
      const token = this.#tokens.get(jti) ?? this.#personalTokens.get(jti);
      if (token !== undefined && (token.lastUsedAt === null || at > token.lastUsedAt)) token.lastUsedAt = at;
    }
    return Promise.resolve();
  }

  issuePersonalToken(token: PersonalTokenRecord, actor: string, limit: number): Promise<void> {
    return this.#write({ userName: token.userName }, () => {
      if (this.#personalTokens.has(token.jti)) throw conflict(`Token id "${token.jti}" is already used.`);
      if (this.#live(token.issuedAt, token.userName).length >= limit) throw personalTokenLimitReached(limit);
      this.#personalTokens.set(token.jti, { ...copyPersonalToken(token), revokedAt: null });
      this.#log(
        token.issuedAt,
        actor,
        'personal-token.issue',
        '',
        token.jti,
        issueDetail(token),
        token.userName,
      );
    });
  }

  revokePersonalTokens(
    userName: string,
    jtis: readonly string[] | 'all',
    actor: string,
    at: number,
  ): Promise<string[]> {
    const wanted = jtis === 'all' ? null : new Set(jtis);
    const revocable = [...this.#personalTokens.values()].filter(
      (t) => t.userName === userName && t.revokedAt === null && (wanted === null || wanted.has(t.jti)),
    );
    if (revocable.length === 0) return Promise.resolve([]);
    return this.#write({ userName }, () =>
      revocable.map((token) => {
        token.revokedAt = at;
        this.#log(at, actor, 'personal-token.revoke', '', token.jti, null, userName);
        return token.jti;
      }),
    );
  }

  listPersonalTokens(userName: string): Promise<PersonalTokenRecord[]> {
    const tokens = [...this.#personalTokens.values()]
      .filter((t) => t.userName === userName && t.revokedAt === null)
      .sort((a, b) => b.issuedAt - a.issuedAt || (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0));
    return Promise.resolve(tokens.map(copyPersonalToken));
  }

  listLivePersonalTokens(at: number, userName?: string): Promise<LivePersonalToken[]> {
    return Promise.resolve(
      this.#live(at, userName).map(({ jti, userName: user }) => ({ jti, userName: user })),
    );
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    const rows: AuditEntry[] = [];
    const limit = auditLimit(opts);
    for (let i = this.#audit.length - 1; i >= 0 && rows.length < limit; i--) {
      const entry = this.#audit[i];
      if (
        entry !== undefined &&
        (opts?.botName === undefined || entry.botName === opts.botName) &&
        (opts?.userName === undefined || entry.userName === opts.userName)
      ) {
        rows.push({ ...entry });
      }
    }
    return Promise.resolve(rows);
  }

  claimDpopProof(key: string, expiresAt: number, now: number): Promise<boolean> {
    return Promise.resolve(this.#dpopProofs.claim(key, expiresAt, now));
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  /** The person's (or everyone's) personal tokens not revoked and not expired at `at`. */
  #live(at: number, userName?: string): PersonalTokenRecord[] {
    return [...this.#personalTokens.values()].filter(
      (t) =>
        (userName === undefined || t.userName === userName) &&
        t.revokedAt === null &&
        (t.expiresAt === null || t.expiresAt > at),
    );
  }

  /** Runs a synchronous mutation, then tells listeners about `change`. */
  #write<T>(change: StoreChange, mutate: () => T): Promise<T> {
    try {
      const result = mutate();
      this.#changes.emit(change);
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #revoke(botName: string, actor: string, at: number, detail: string | null): string | null {
    const jti = this.#current.get(botName);
    const token = jti === undefined ? undefined : this.#tokens.get(jti);
    if (jti === undefined || token === undefined) return null;
    token.revokedAt = at;
    this.#current.delete(botName);
    this.#log(at, actor, 'token.revoke', botName, jti, detail);
    return jti;
  }

  #log(
    at: number,
    actor: string,
    action: AuditEntry['action'],
    botName: string,
    jti: string | null,
    detail: string | null,
    userName: string | null = null,
  ): void {
    this.#audit.push({ id: this.#audit.length + 1, at, actor, action, botName, userName, jti, detail });
  }
}

/** Copies, so no caller shares the stored record or its scope list. */
function copyBot(bot: BotRecord): BotRecord {
  return { ...bot, allowedScopes: [...bot.allowedScopes] };
}

function copyToken(token: BotTokenRecord): BotTokenRecord {
  return { ...token, scopes: token.scopes === null ? null : [...token.scopes] };
}

function copyPersonalToken(token: PersonalTokenRecord): PersonalTokenRecord {
  return { ...token, scopes: [...token.scopes] };
}
