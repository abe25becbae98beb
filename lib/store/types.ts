/**
 * The bot store contract: bots and their tokens, and people's personal access tokens, persisted. A token itself is never stored, only
 * its `jti`, a SHA-256 hash and its last 4 characters (docs/security.md#secrets-shown-once).
 */

/** A bot: a machine principal (ingestion, Airflow, scripts) that authenticates with a bot token. */
export interface BotRecord {
  name: string;
  displayName: string;
  description: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Principal name of the admin who created it. */
  createdBy: string;
  /**
   * The scopes its tokens may carry (RFC 6749 §3.3 scope-tokens), set by an admin; a token minted
   * without a choice gets all of them. Bots created before scopes existed have none.
   */
  allowedScopes: string[];
  /**
   * Its tokens must be bound to a client key (DPoP, RFC 9449): an unbound token cannot be minted
   * for it. Default false.
   */
  requireDpop: boolean;
}

/** What is kept of a minted bot token. Never the token. */
export interface BotTokenRecord {
  botName: string;
  /** The token's unique `jti` claim. */
  jti: string;
  /** SHA-256 of the whole compact token, lower-case hex (see `hashToken`). */
  tokenHash: string;
  /** Last 4 characters of the token, for display. */
  last4: string;
  /** The expiry choice as sent on the wire: `"OneHour"`, `"1"`, `"7"`, … `"Unlimited"`. */
  expiry: string;
  /** Epoch milliseconds. */
  issuedAt: number;
  /** Epoch milliseconds, or `null` for an unlimited token. */
  expiresAt: number | null;
  issuedBy: string;
  /** Epoch milliseconds of the last request seen with this token, or `null`. */
  lastUsedAt: number | null;
  /** Epoch milliseconds, or `null` while the token is the bot's current one. */
  revokedAt: number | null;
  /**
   * The scopes the token carries (its `scope` claim); `null` for a token minted before scopes
   * existed, which holds its bot's allowed scopes at each use.
   */
  scopes: string[] | null;
  /**
   * RFC 7638 thumbprint of the client key the token is bound to (its `cnf.jkt`, RFC 9449 §6), or
   * `null` for an unbound token.
   */
  dpopJkt: string | null;
}

/**
 * What is kept of a person's personal access token (tokenType `PERSONAL_ACCESS`). Never the token.
 * A person holds several at once, each revoked on its own.
 */
export interface PersonalTokenRecord {
  /** The token's unique `jti` claim. */
  jti: string;
  /** The person's principal name (the token's `sub`). */
  userName: string;
  /** The name the person gave it (`tokenName`), for display. */
  tokenName: string;
  /** SHA-256 of the whole compact token, lower-case hex (see `hashToken`). */
  tokenHash: string;
  /** Last 4 characters of the token, for display. */
  last4: string;
  /** The expiry choice as sent on the wire: `"OneHour"`, `"1"`, `"7"`, … `"Unlimited"`. */
  expiry: string;
  /** Epoch milliseconds. */
  issuedAt: number;
  /** Epoch milliseconds, or `null` for an unlimited token. */
  expiresAt: number | null;
  /** Who minted it: the person, as the audit log names actors. */
  issuedBy: string;
  /** Epoch milliseconds of the last request seen with this token, or `null`. */
  lastUsedAt: number | null;
  /** Epoch milliseconds, or `null` while the token is live. */
  revokedAt: number | null;
  /** The scopes the token carries (its `scope` claim). */
  scopes: string[];
}

/**
 * What the token registry reads of each live personal token: as little as it needs, since it reads
 * every one at start.
 */
export type LivePersonalToken = Pick<PersonalTokenRecord, 'jti' | 'userName'>;

export type AuditAction =
  | 'bot.create'
  | 'bot.update'
  | 'bot.delete'
  | 'token.issue'
  | 'token.revoke'
  | 'personal-token.issue'
  | 'personal-token.revoke';

/** One audit row, written in the same transaction as the change it records. */
export interface AuditEntry {
  id?: number;
  /** Epoch milliseconds. */
  at: number;
  actor: string;
  action: AuditAction;
  /** The bot of a `bot.*` / `token.*` row; `''` on a `personal-token.*` row. */
  botName: string;
  /** The person whose personal token a `personal-token.*` row is about; `null` on bot rows. */
  userName: string | null;
  jti: string | null;
  detail: string | null;
}

/** `StoreChange.botName` meaning "anything may have changed": reload everything. */
export const ALL_BOTS = '*';

/**
 * Something changed in this instance or in another process sharing the database: a bot (created,
 * deleted, its scopes, its token issued or revoked) or a person's personal tokens (issued,
 * revoked). `{botName: ALL_BOTS}` (`'*'`) after a gap in change delivery (e.g. a lost PostgreSQL
 * notification connection): resynchronise everything, bots and personal tokens alike.
 */
export type StoreChange =
  { botName: string; userName?: undefined } | { userName: string; botName?: undefined };

export interface ListAuditOptions {
  /** Only rows of this bot. */
  botName?: string;
  /** Only `personal-token.*` rows about this person. */
  userName?: string;
  /** Most rows returned. Default 100, at most 1000. */
  limit?: number;
}

export type StoreKind = 'memory' | 'sqlite' | 'postgres';

/**
 * Persistence for bots and bot tokens. Every create/delete/issue/revoke also writes an audit row in
 * the same transaction. Failures to reach the database reject with
 * `ServiceUnavailableError('ERR_STORE_UNAVAILABLE')`, so callers fail closed.
 */
export interface BotStore {
  readonly kind: StoreKind;
  /** Creates or migrates the schema (versioned, idempotent, safe when two processes start at once). */
  init(): Promise<void>;
  close(): Promise<void>;
  /** All bots, ordered by name. */
  listBots(): Promise<BotRecord[]>;
  getBot(name: string): Promise<BotRecord | null>;
  /** Rejects with `conflict()` (409 `ERR_CONFLICT`) when the name is taken. */
  createBot(bot: BotRecord): Promise<void>;
  /**
   * Replaces the bot's allowed scopes (audited as `bot.update`). `false` when there is no such bot.
   */
  setAllowedScopes(
    name: string,
    allowedScopes: readonly string[],
    actor: string,
    at: number,
  ): Promise<boolean>;
  /**
   * Sets whether the bot's tokens must be DPoP-bound (audited as `bot.update`, detail
   * `requireDpop true|false`). Does not touch its current token. `false` when there is no such bot.
   */
  setRequireDpop(name: string, requireDpop: boolean, actor: string, at: number): Promise<boolean>;
  /** Deletes the bot and revokes its current token. `false` when there is no such bot. */
  deleteBot(name: string, actor: string, at: number): Promise<boolean>;
  /**
   * Atomically revokes the bot's current token (`revokedAt = token.issuedAt`) and makes `token`
   * current; concurrent calls (also from other processes) leave exactly one current token.
   * Rejects with `notFound()` when the bot does not exist. Returns the replaced `jti`, if any.
   */
  issueToken(token: BotTokenRecord, actor: string): Promise<{ replaced: string | null }>;
  /** Revokes the bot's current token. Returns its `jti`, or `null` when it had none. */
  revokeToken(botName: string, actor: string, at: number): Promise<string | null>;
  /** The bot's non-revoked token, or `null`. */
  getCurrentToken(botName: string): Promise<BotTokenRecord | null>;
  /** Every non-revoked token (to warm a cache at start). */
  listCurrentTokens(): Promise<BotTokenRecord[]>;
  /**
   * Records token use in one batch, bot and personal tokens alike (by `jti`); a token's `lastUsedAt`
   * only ever moves forward.
   */
  recordLastUsed(uses: ReadonlyArray<{ jti: string; at: number }>): Promise<void>;
  /**
   * Records a personal token, unless its person already holds `limit` live ones (not revoked, not
   * expired at `token.issuedAt`): then rejects with `conflict()` (409 `ERR_CONFLICT`) naming the
   * limit. The count and the insert are one transaction, so concurrent mints (also from other
   * processes) never pass the limit. Audited as `personal-token.issue`.
   */
  issuePersonalToken(token: PersonalTokenRecord, actor: string, limit: number): Promise<void>;
  /**
   * Revokes the person's tokens named in `jtis` (ids of other people's tokens, or already revoked,
   * are ignored), or every live one with `'all'`. One `personal-token.revoke` audit row per token.
   * Returns the `jti`s revoked now.
   */
  revokePersonalTokens(
    userName: string,
    jtis: readonly string[] | 'all',
    actor: string,
    at: number,
  ): Promise<string[]>;
  /** The person's tokens not revoked (expired ones included), newest first. */
  listPersonalTokens(userName: string): Promise<PersonalTokenRecord[]>;
  /**
   * Every personal token not revoked and not expired at `at` (epoch ms), of one person or of all:
   * what the registry loads at start and after a change.
   */
  listLivePersonalTokens(at: number, userName?: string): Promise<LivePersonalToken[]>;
  /** Audit rows, newest first. */
  listAudit(opts?: ListAuditOptions): Promise<AuditEntry[]>;
  /**
   * The DPoP replay check (RFC 9449 §11.1), shared by every instance on this store: records `key`
   * (the caller's digest of a proof's key thumbprint and `jti`) until `expiresAt` (epoch ms) and
   * resolves `true`, or resolves `false` when the key is already recorded and not expired — the
   * proof was used before. Atomic across processes (a unique key, inserted once). Expired keys are
   * pruned as it goes, so the table holds only proofs still inside their acceptance window.
   */
  claimDpopProof(key: string, expiresAt: number, now: number): Promise<boolean>;
  /** Subscribes to changes, including those made by other processes. Returns the unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void;
  /**
   * Delivers changes committed by other connections now: their `onChange` listeners run before it
   * returns. Synchronous and cheap, as the bot registry calls it before every bot-token check, so a
   * token revoked or replaced anywhere is refused on the very next request. Throws when the store
   * cannot be read (the check then fails closed). SQLite only (one `PRAGMA data_version` when
   * nothing changed); PostgreSQL delivers as its notifications arrive, and the memory store has no
   * other connections.
   */
  syncChanges?(): void;
  /** PostgreSQL only: `false` when the change-notification connection is lost, `true` when back. */
  onHealth?(listener: (healthy: boolean) => void): () => void;
}
