import { ApiError, badRequest } from '../errors.js';
import { hashToken, tokenLast4 } from '../store/token-hash.js';
import type { BotStore, PersonalTokenRecord } from '../store/types.js';
import { parseExpiry } from '../tokens/expiry.js';
import type { MintClaims, MintedToken } from '../tokens/mint-token.js';
import type { Principal } from '../verify/principal.js';
import type { BotRegistry } from './bot-registry.js';
import { optionalText, scopeList } from './request-fields.js';

/** Longest `tokenName`. */
const MAX_TOKEN_NAME = 128;

/** What is shown of a personal token: never the token, never its hash. */
export interface PersonalTokenView {
  /** The token's `jti`: what `revoke` takes. */
  id: string;
  userName: string;
  tokenName: string;
  last4: string;
  /** The reference's names: the expiry choice and its end (epoch ms, `null` for Unlimited). */
  JWTTokenExpiry: string;
  JWTTokenExpiresAt: number | null;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms of the last use seen (uses not yet written included), or `null`. */
  lastUsedAt: number | null;
  scopes: string[];
  /** Past its expiry: it no longer works, and no longer counts toward the limit. */
  expired: boolean;
}

/** A freshly minted personal token: the one time `JWTToken` is shown. */
export type GeneratedPersonalToken = PersonalTokenView & { JWTToken: string };

export interface PersonalTokenServiceOptions {
  store: BotStore;
  /** Signs a token with the gate's active key (`gate.mintToken`). */
  mintToken: (claims: MintClaims, nowMs?: number) => MintedToken;
  /** Most live tokens per person (`personalTokenConfiguration.maxTokensPerUser`). */
  maxTokensPerUser: number;
  /** The running gate's registry: reloaded after each change, so this instance answers at once. */
  registry?: BotRegistry;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * People's personal access tokens (the reference's `PERSONAL_ACCESS`, docs/bots.md#personal-access-tokens):
 * a person mints tokens for their own scripts, lists and revokes them; each is checked on every use
 * like a bot token, so a revoked one fails on its next request. A token is its person's: it
 * carries their name and verified email, holds at most their scopes, and is an admin's only while
 * that person is an admin (judged at each use, not frozen at minting). Callers check who may act
 * for whom (the router: yourself, or anyone for an admin).
 */
export class PersonalTokenService {
  readonly #store: BotStore;
  readonly #mint: PersonalTokenServiceOptions['mintToken'];
  readonly #limit: number;
  readonly #registry: BotRegistry | undefined;
  readonly #now: () => number;

  constructor(options: PersonalTokenServiceOptions) {
    this.#store = options.store;
    this.#mint = options.mintToken;
    this.#limit = options.maxTokensPerUser;
    this.#registry = options.registry;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Mints a personal token for the signed-in `person`.
   *
   * @param input The request body: `tokenName`, `JWTTokenExpiry` (the bot choices: `"OneHour"`,
   *   `"1"`, `"7"`, `"30"`, `"60"`, `"90"`, `"Unlimited"`), optional `scopes` within the person's
   *   own (default: all of theirs).
   * @throws ApiError 400 (a bot; a bad field; a scope the person lacks), 403 (signed in with a
   *   personal token: one never mints another), 409 (the limit reached).
   */
  async generate(
    person: Principal,
    input: Record<string, unknown>,
    actor: string,
  ): Promise<GeneratedPersonalToken> {
    assertPerson(person);
    if (person.source === 'no-auth') {
      throw new ApiError(403, 'ERR_FORBIDDEN', 'Sign in to generate a personal access token.');
    }
    if (person.tokenType === 'PERSONAL_ACCESS') {
      throw new ApiError(
        403,
        'ERR_FORBIDDEN',
        'A personal access token cannot mint another; sign in to generate one.',
      );
    }
    const tokenName = optionalText(input.tokenName, 'tokenName', MAX_TOKEN_NAME)?.trim();
    if (tokenName === undefined || tokenName === '')
      throw badRequest(
        `Send {"tokenName": "<a name, at most ${MAX_TOKEN_NAME} characters>", "JWTTokenExpiry": "7"}.`,
      );
    const expiry = parseExpiry(input.JWTTokenExpiry);
    const scopes = input.scopes === undefined ? [...person.scopes] : scopeList(input.scopes, 'scopes');
    const refused = scopes.filter((scope) => !person.scopes.includes(scope));
    if (refused.length > 0) {
      throw badRequest(
        `Your token cannot carry ${refused.join(', ')}: a personal access token holds at most your own scopes (${person.scopes.join(', ') || 'none'}).`,
      );
    }
    const minted = this.#mint(
      {
        subject: person.name,
        ...(person.email === null ? {} : { email: person.email }),
        isBot: false,
        tokenType: 'PERSONAL_ACCESS',
        expiry,
        scopes,
      },
      this.#now(),
    );
    const record: PersonalTokenRecord = {
      jti: minted.jti,
      userName: person.name,
      tokenName,
      tokenHash: hashToken(minted.token),
      last4: tokenLast4(minted.token),
      expiry,
      issuedAt: minted.issuedAt,
      expiresAt: minted.expiresAt,
      issuedBy: actor,
      lastUsedAt: null,
      revokedAt: null,
      scopes,
    };
    await this.#store.issuePersonalToken(record, actor, this.#limit);
    await this.#registry?.reloadPersonal(person.name);
    return { JWTToken: minted.token, ...this.#view(record) };
  }

  /** The person's tokens that are not revoked (expired ones flagged), newest first. */
  async list(userName: string): Promise<PersonalTokenView[]> {
    const tokens = await this.#store.listPersonalTokens(userName);
    return tokens.map((token) => this.#view(token));
  }

  /**
   * Revokes the person's tokens with these ids, or all of them (`'all'`); each fails on its next
   * use on every instance. Ids that are not theirs are ignored.
   * @throws ApiError 400 when `tokenIds` is not a list of ids.
   */
  async revoke(
    userName: string,
    tokenIds: unknown,
    actor: string,
  ): Promise<{ userName: string; revoked: string[] }> {
    const ids = tokenIds === 'all' ? 'all' : idList(tokenIds);
    const revoked =
      ids.length === 0 ? [] : await this.#store.revokePersonalTokens(userName, ids, actor, this.#now());
    await this.#registry?.reloadPersonal(userName);
    return { userName, revoked };
  }

  #view(token: PersonalTokenRecord): PersonalTokenView {
    return {
      id: token.jti,
      userName: token.userName,
      tokenName: token.tokenName,
      last4: token.last4,
      JWTTokenExpiry: token.expiry,
      JWTTokenExpiresAt: token.expiresAt,
      issuedAt: token.issuedAt,
      lastUsedAt: this.#registry?.lastUsedAt(token.jti, token.lastUsedAt) ?? token.lastUsedAt,
      scopes: [...token.scopes],
      expired: token.expiresAt !== null && token.expiresAt <= this.#now(),
    };
  }
}

/** Personal tokens are people's: a bot is told so with a 400, as the reference does. */
export function assertPerson(principal: Principal): void {
  if (principal.isBot || principal.tokenType === 'BOT') {
    throw badRequest(
      'Bots do not have personal access tokens; an admin generates bot tokens on the Bots page.',
    );
  }
}

/** `{"tokenIds": [...]}`: at most 100 ids (UUIDs as minted), 400 otherwise. */
function idList(value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length > 100 ||
    !value.every((id) => typeof id === 'string' && id.length <= 64)
  ) {
    throw badRequest('Send {"tokenIds": ["<token id>", ...]} (at most 100), or removeAll=true.');
  }
  return [...new Set(value as string[])];
}
