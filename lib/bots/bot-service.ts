import { ApiError, badRequest, notFound } from '../errors.js';
import { MAX_AUDIT_LIMIT } from '../store/store-helpers.js';
import { hashToken, tokenLast4 } from '../store/token-hash.js';
import type { AuditEntry, BotRecord, BotStore, BotTokenRecord, ListAuditOptions } from '../store/types.js';
import { isJwkThumbprint } from '../tokens/dpop-jkt.js';
import { parseExpiry, type ExpiryChoice } from '../tokens/expiry.js';
import type { MintClaims, MintedToken, TokenResponse } from '../tokens/mint-token.js';
import type { BotRegistry } from './bot-registry.js';
import { assertBotName } from './bot-name.js';
import { optionalText, scopeList } from './request-fields.js';

/** The reference's well-known bots: what they are called when an app lists them as default bots. */
const KNOWN_BOTS: ReadonlyMap<string, Readonly<NewBot>> = new Map([
  [
    'ingestion-bot',
    {
      name: 'ingestion-bot',
      displayName: 'Ingestion Bot',
      description: 'Bot that ingestion workflows and the pipeline service authenticate as.',
    },
  ],
]);

/** Actor recorded for what jwt-gate does by itself (creating the default bots). */
export const SYSTEM_ACTOR = 'system';

const MAX_DISPLAY_NAME = 256;
const MAX_DESCRIPTION = 4096;

/** What `createBot` takes (the body of `POST /api/v1/bots`). */
export interface NewBot {
  name: string;
  /** Default: the name. At most 256 characters, no control characters. */
  displayName?: string;
  /** Default: empty. At most 4096 characters. */
  description?: string;
  /**
   * The scopes its tokens may carry (RFC 6749 §3.3 scope-tokens, e.g. `tables:read`). Default
   * none; change them with `setAllowedScopes`.
   */
  allowedScopes?: readonly string[];
  /**
   * Its tokens must be DPoP-bound (RFC 9449): an unbound token cannot be minted for it. Default
   * false; change it with `setRequireDpop`.
   */
  requireDpop?: boolean;
}

/**
 * What is shown of a bot's current token: never the token, never its hash. `lastUsedAt` includes
 * uses not yet written to the store.
 */
export type BotTokenMetadata = Omit<BotTokenRecord, 'tokenHash' | 'revokedAt' | 'scopes'> & {
  /**
   * The scopes the token holds now: its `scope` claim within the bot's allowed scopes, or all of
   * them for a token minted before scopes existed.
   */
  scopes: string[];
  /** The reference's names for `expiry` and `expiresAt`. */
  JWTTokenExpiry: string;
  JWTTokenExpiresAt: number | null;
};

/** A bot with its current token's metadata (`null` when it has none). */
export interface BotView extends BotRecord {
  token: BotTokenMetadata | null;
}

export interface RevokeResult {
  botName: string;
  /** `false` when the bot had no current token. */
  revoked: boolean;
  /** `jti` of the revoked token, or `null`. */
  jti: string | null;
}

export interface BotServiceOptions {
  store: BotStore;
  /** Signs a token with the gate's active key (`gate.mintToken`). */
  mintToken: (claims: MintClaims, nowMs?: number) => MintedToken;
  /** Bot tokens carry `email: <bot>@<principalDomain>`. */
  principalDomain: string;
  /**
   * The running gate's registry: reloaded after every change so this instance answers with the
   * new state at once, and consulted for uses not yet written. Omit it in the CLI.
   */
  registry?: BotRegistry;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The bot lifecycle (docs/security.md, "Revocation" and "Secrets shown once"): bots, their one current token, and its revocation. Each
 * change is audited by the store in the same transaction; tokens are shown once, when minted.
 * Callers are responsible for authorisation (the bots router admits admins only, never bots).
 */
export class BotService {
  readonly #store: BotStore;
  readonly #mint: BotServiceOptions['mintToken'];
  readonly #domain: string;
  readonly #registry: BotRegistry | undefined;
  readonly #now: () => number;

  constructor(options: BotServiceOptions) {
    this.#store = options.store;
    this.#mint = options.mintToken;
    this.#domain = options.principalDomain;
    this.#registry = options.registry;
    this.#now = options.now ?? Date.now;
  }

  /** Every bot, ordered by name, with its token's metadata. */
  async listBots(): Promise<BotView[]> {
    const [bots, tokens] = await Promise.all([this.#store.listBots(), this.#store.listCurrentTokens()]);
    const byBot = new Map(tokens.map((t) => [t.botName, t]));
    return bots.map((bot) => this.#view(bot, byBot.get(bot.name) ?? null));
  }

  /** @throws ApiError 400 for an invalid name, 404 for an unknown bot. */
  async getBot(name: string): Promise<BotView> {
    assertBotName(name);
    const [bot, token] = await Promise.all([this.#store.getBot(name), this.#store.getCurrentToken(name)]);
    if (bot === null) throw unknownBot(name);
    return this.#view(bot, token);
  }

  /** @throws ApiError 400 for an invalid name or field, 409 when the name is taken. */
  async createBot(input: NewBot, actor: string): Promise<BotView> {
    const bot: BotRecord = {
      name: assertBotName(input.name),
      // An empty display name is no display name.
      displayName: optionalText(input.displayName, 'displayName', MAX_DISPLAY_NAME) || input.name,
      description: optionalText(input.description, 'description', MAX_DESCRIPTION) ?? '',
      createdAt: this.#now(),
      createdBy: actor,
      allowedScopes: input.allowedScopes === undefined ? [] : scopeList(input.allowedScopes, 'allowedScopes'),
      requireDpop: flag(input.requireDpop, 'requireDpop') ?? false,
    };
    await this.#store.createBot(bot);
    return this.#view(bot, null);
  }

  /**
   * Replaces the scopes the bot's tokens may carry. Live tokens hold at most these from the next
   * request on; a token minted before scopes existed holds all of them.
   * @throws ApiError 400 (name, scopes), 404 (unknown bot).
   */
  async setAllowedScopes(name: string, allowedScopes: unknown, actor: string): Promise<BotView> {
    assertBotName(name);
    const scopes = scopeList(allowedScopes, 'allowedScopes');
    if (!(await this.#store.setAllowedScopes(name, scopes, actor, this.#now()))) throw unknownBot(name);
    await this.#registry?.reloadBot(name);
    return this.getBot(name);
  }

  /**
   * Sets whether the bot's tokens must be DPoP-bound (audited `bot.update`, detail
   * `requireDpop true|false`). Turning it on also revokes the bot's current token if that one is
   * unbound (audited `token.revoke`): the requirement holds from now on, not from the next mint.
   * A bound current token keeps working. Turning it off touches no token.
   * @throws ApiError 400 (name, a value that is not a boolean), 404 (unknown bot).
   */
  async setRequireDpop(name: string, requireDpop: unknown, actor: string): Promise<BotView> {
    assertBotName(name);
    const value = flag(requireDpop, 'requireDpop');
    if (value === undefined) throw badRequest('requireDpop must be true or false.');
    if (!(await this.#store.setRequireDpop(name, value, actor, this.#now()))) throw unknownBot(name);
    if (value) await this.#revokeIfUnbound(name, actor);
    await this.#registry?.reloadBot(name);
    return this.getBot(name);
  }

  /** Deletes the bot and revokes its token; returns the deleted bot. @throws ApiError 400/404. */
  async deleteBot(name: string, actor: string): Promise<BotView> {
    const view = await this.getBot(name);
    if (!(await this.#store.deleteBot(name, actor, this.#now()))) throw unknownBot(name);
    await this.#registry?.reloadBot(name);
    return { ...view, token: null };
  }

  /**
   * Mints a new `BOT` token for the bot and makes it current: the previous one is rejected from
   * the moment this resolves. Concurrent calls leave exactly one current token (the store's
   * atomic issue); the registry is reloaded from the store, so it reflects whichever won.
   *
   * @param expiry The wire value: `"OneHour"`, `"1"`, `"7"`, `"30"`, `"60"`, `"90"` or `"Unlimited"`.
   * @param scopes The token's scopes (its `scope` claim): a subset of the bot's allowed scopes.
   *   Default: all of them.
   * @param dpopJkt RFC 7638 SHA-256 thumbprint of the client key to bind the token to (its
   *   `cnf.jkt`, RFC 9449 §6.1). Default (`undefined` or `null`): unbound, refused for a bot that
   *   requires DPoP.
   * @returns `{JWTToken, JWTTokenExpiry, JWTTokenExpiresAt}` — the only time the token is shown.
   * @throws ApiError 400 (name, expiry, a scope the bot is not allowed, a malformed `dpopJkt`, an
   *   unbound token for a bot that requires DPoP), 404 (unknown bot).
   */
  async generateToken(
    name: string,
    expiry: unknown,
    actor: string,
    scopes?: unknown,
    dpopJkt?: unknown,
  ): Promise<TokenResponse> {
    assertBotName(name);
    const choice: ExpiryChoice = parseExpiry(expiry);
    const jkt = thumbprint(dpopJkt);
    const bot = await this.#store.getBot(name);
    if (bot === null) throw unknownBot(name);
    if (bot.requireDpop && jkt === undefined) throw unboundRefused(name);
    const granted = scopes === undefined ? bot.allowedScopes : scopeList(scopes, 'scopes');
    const refused = granted.filter((scope) => !bot.allowedScopes.includes(scope));
    if (refused.length > 0) {
      throw badRequest(
        `Bot "${name}" is not allowed the scope${refused.length === 1 ? '' : 's'} ${refused.join(', ')} (allowed: ${bot.allowedScopes.join(', ') || 'none'}). An admin can allow more with PATCH /api/v1/bots/${name} {"allowedScopes": [...]}.`,
      );
    }
    const minted = this.#mint(
      {
        subject: name,
        email: `${name}@${this.#domain}`,
        isBot: true,
        tokenType: 'BOT',
        expiry: choice,
        scopes: granted,
        dpopJkt: jkt,
      },
      this.#now(),
    );
    const record: BotTokenRecord = {
      botName: name,
      jti: minted.jti,
      tokenHash: hashToken(minted.token),
      last4: tokenLast4(minted.token),
      expiry: choice,
      issuedAt: minted.issuedAt,
      expiresAt: minted.expiresAt,
      issuedBy: actor,
      lastUsedAt: null,
      revokedAt: null,
      scopes: [...granted],
      dpopJkt: jkt ?? null,
    };
    await this.#store.issueToken(record, actor);
    // requireDpop may have been turned on between our read and our issue: hold to it anyway.
    if (jkt === undefined && (await this.#store.getBot(name))?.requireDpop === true) {
      await this.#revokeIfUnbound(name, actor);
      await this.#registry?.reloadBot(name);
      throw unboundRefused(name);
    }
    await this.#registry?.reloadBot(name);
    return minted.response;
  }

  /** Revokes the bot's current token, if any. @throws ApiError 400/404. */
  async revokeToken(name: string, actor: string): Promise<RevokeResult> {
    assertBotName(name);
    if ((await this.#store.getBot(name)) === null) throw unknownBot(name);
    const jti = await this.#store.revokeToken(name, actor, this.#now());
    await this.#registry?.reloadBot(name);
    return { botName: name, revoked: jti !== null, jti };
  }

  /** Metadata of the bot's current token. @throws ApiError 400, 404 (unknown bot or no token). */
  async getTokenMetadata(name: string): Promise<BotTokenMetadata> {
    const view = await this.getBot(name);
    if (view.token === null) {
      throw notFound(`Bot "${name}" has no current token; generate one with PUT /api/v1/bots/${name}/token.`);
    }
    return view.token;
  }

  /** Audit rows, newest first: who created, deleted, minted or revoked what, and when. */
  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]> {
    return this.#store.listAudit(opts);
  }

  /**
   * Creates these bots unless they exist or existed (`botConfiguration.defaultBots`, on start).
   * A bot that an admin deleted later stays deleted: the audit log shows it existed. Safe when
   * instances start at once. New ones are allowed `allowedScopes` (`botConfiguration.defaultBotScopes`);
   * so is one that exists with none whose scopes nobody ever set (created before scopes existed,
   * or before they were configured) — once: an admin's later choice, even none, stays.
   */
  async ensureBots(names: readonly string[], allowedScopes: readonly string[] = []): Promise<void> {
    for (const name of names) {
      const bot = { ...(KNOWN_BOTS.get(name) ?? { name }), allowedScopes };
      const existing = await this.#store.getBot(bot.name);
      if (existing !== null) {
        if (
          allowedScopes.length > 0 &&
          existing.allowedScopes.length === 0 &&
          !(await this.#scopesEverSet(name))
        )
          await this.setAllowedScopes(name, allowedScopes, SYSTEM_ACTOR);
        continue;
      }
      const history = await this.#store.listAudit({ botName: bot.name, limit: 1 });
      if (history.length > 0) continue;
      await this.createBot(bot, SYSTEM_ACTOR).catch((error: unknown) => {
        // Another instance created it between our read and our write.
        if (!(error instanceof ApiError && error.status === 409)) throw error;
      });
    }
  }

  /** Whether anyone ever set the bot's allowed scopes (a `bot.update` other than `requireDpop …`). */
  async #scopesEverSet(name: string): Promise<boolean> {
    const history = await this.#store.listAudit({ botName: name, limit: MAX_AUDIT_LIMIT });
    return history.some(
      (entry) => entry.action === 'bot.update' && entry.detail?.startsWith('requireDpop ') !== true,
    );
  }

  /** Revokes the bot's current token if it is not DPoP-bound. */
  async #revokeIfUnbound(name: string, actor: string): Promise<void> {
    const current = await this.#store.getCurrentToken(name);
    if (current !== null && current.dpopJkt === null) await this.#store.revokeToken(name, actor, this.#now());
  }

  #view(bot: BotRecord, token: BotTokenRecord | null): BotView {
    return { ...bot, token: token === null ? null : this.#metadata(token, bot) };
  }

  #metadata(token: BotTokenRecord, bot: BotRecord): BotTokenMetadata {
    const lastUsedAt = this.#registry?.lastUsedAt(token.jti, token.lastUsedAt) ?? token.lastUsedAt;
    return {
      botName: token.botName,
      jti: token.jti,
      last4: token.last4,
      expiry: token.expiry,
      issuedAt: token.issuedAt,
      expiresAt: token.expiresAt,
      issuedBy: token.issuedBy,
      lastUsedAt,
      dpopJkt: token.dpopJkt,
      scopes:
        token.scopes === null
          ? [...bot.allowedScopes]
          : token.scopes.filter((scope) => bot.allowedScopes.includes(scope)),
      JWTTokenExpiry: token.expiry,
      JWTTokenExpiresAt: token.expiresAt,
    };
  }
}

/** An optional boolean field of a request body; 400 naming the field for anything else. */
function flag(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${field} must be true or false.`);
  return value;
}

/** An optional `dpopJkt`: absent, or the shape of a SHA-256 thumbprint; 400 otherwise. */
function thumbprint(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJwkThumbprint(value)) {
    throw badRequest(
      "dpopJkt must be the RFC 7638 SHA-256 thumbprint of the client's public key: 43 base64url characters.",
    );
  }
  return value;
}

function unboundRefused(name: string): ApiError {
  return badRequest(
    `Bot "${name}" requires DPoP-bound tokens: send "dpopJkt": "<RFC 7638 thumbprint of the client's key>" ` +
      `(CLI: jwt-gate bots token ${name} --dpop-key <key file>), or turn the requirement off with ` +
      `PATCH /api/v1/bots/${name} {"requireDpop": false}.`,
  );
}

function unknownBot(name: string): ApiError {
  return notFound(`Bot "${name}" not found.`);
}
