import { conflict, notFound } from '../errors.js';
import { Listeners } from './listeners.js';
import {
  BOT_DELETED_DETAIL,
  REPLACED_DETAIL,
  auditLimit,
  issueDetail,
  latestUses,
  scopesDetail,
} from './store-helpers.js';
import type {
  AuditEntry,
  BotRecord,
  BotStore,
  BotTokenRecord,
  ListAuditOptions,
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
    return this.#write(bot.name, () => {
      if (this.#bots.has(bot.name)) throw conflict(`Bot "${bot.name}" already exists.`);
      this.#bots.set(bot.name, copyBot(bot));
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
    return this.#write(name, () => {
      bot.allowedScopes = [...allowedScopes];
      this.#log(at, actor, 'bot.update', name, null, scopesDetail(allowedScopes));
      return true;
    });
  }

  deleteBot(name: string, actor: string, at: number): Promise<boolean> {
    if (!this.#bots.has(name)) return Promise.resolve(false);
    return this.#write(name, () => {
      this.#revoke(name, actor, at, BOT_DELETED_DETAIL);
      this.#bots.delete(name);
      this.#log(at, actor, 'bot.delete', name, null, null);
      return true;
    });
  }

  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }> {
    return this.#write(token.botName, () => {
      if (!this.#bots.has(token.botName)) throw notFound(`Bot "${token.botName}" not found.`);
      if (this.#tokens.has(token.jti)) throw conflict(`Token id "${token.jti}" is already used.`);
      const replaced = this.#revoke(token.botName, actor, token.issuedAt, REPLACED_DETAIL);
      this.#tokens.set(token.jti, { ...copyToken(token), revokedAt: null });
      this.#current.set(token.botName, token.jti);
      this.#log(token.issuedAt, actor, 'token.issue', token.botName, token.jti, issueDetail(token));
      return { replaced };
    });
  }

  revokeToken(botName: string, actor: string, at: number): Promise<string | null> {
    if (!this.#current.has(botName)) return Promise.resolve(null);
    return this.#write(botName, () => this.#revoke(botName, actor, at, null));
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
      const token = this.#tokens.get(jti);
      if (token !== undefined && (token.lastUsedAt === null || at > token.lastUsedAt)) token.lastUsedAt = at;
    }
    return Promise.resolve();
  }

  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    const rows: AuditEntry[] = [];
    const limit = auditLimit(opts);
    for (let i = this.#audit.length - 1; i >= 0 && rows.length < limit; i--) {
      const entry = this.#audit[i];
      if (entry !== undefined && (opts?.botName === undefined || entry.botName === opts.botName)) {
        rows.push({ ...entry });
      }
    }
    return Promise.resolve(rows);
  }

  onChange(listener: (change: StoreChange) => void): () => void {
    return this.#changes.add(listener);
  }

  /** Runs a synchronous mutation, then tells listeners about `botName`. */
  #write<T>(botName: string, mutate: () => T): Promise<T> {
    try {
      const result = mutate();
      this.#changes.emit({ botName });
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
  ): void {
    this.#audit.push({ id: this.#audit.length + 1, at, actor, action, botName, jti, detail });
  }
}

/** Copies, so no caller shares the stored record or its scope list. */
function copyBot(bot: BotRecord): BotRecord {
  return { ...bot, allowedScopes: [...bot.allowedScopes] };
}

function copyToken(token: BotTokenRecord): BotTokenRecord {
  return { ...token, scopes: token.scopes === null ? null : [...token.scopes] };
}
