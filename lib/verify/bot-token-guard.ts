import { InvalidTokenError, type JwtGateError, ServiceUnavailableError } from '../errors.js';
import type { Principal } from './principal.js';

/**
 * Outcome of the revocation check of one of our own bot tokens. `unknown`: the token is newer than
 * the bot's current token as this instance knows it (minted a moment ago on another instance) —
 * the caller refreshes that bot once and checks again.
 */
export type BotTokenState = 'valid' | 'revoked' | 'unavailable' | 'unknown';

/**
 * The token-state check the verifier runs on every request carrying one of our `BOT` or
 * `PERSONAL_ACCESS` tokens (cached or not). It must answer synchronously from memory;
 * `unavailable` (the store cannot be read and the answer is not known) makes the request fail
 * closed with 503.
 */
export interface BotTokenGuard {
  check(botName: string, jti: string | null, nowMs: number, issuedAtMs?: number): BotTokenState;
  /** Re-reads one bot from the store (after `unknown`); never rejects. */
  refresh?(botName: string): Promise<void>;
  /**
   * The state of one of a person's personal access tokens. A guard without it refuses every
   * personal access token.
   */
  checkPersonal?(userName: string, jti: string | null, nowMs: number): BotTokenState;
  /** Re-reads one person's personal tokens (after `unknown`); never rejects. */
  refreshPersonal?(userName: string): Promise<void>;
  /**
   * The bot's allowed scopes (frozen), or `undefined` when unknown. A bot token's scopes are its
   * `scope` claim within these; a token without the claim (minted before scopes existed) holds
   * all of them. Without this method bot tokens hold their claim's scopes only.
   */
  allowedScopes?(botName: string): readonly string[] | undefined;
  /** Records a use for `last used at`, batched: never a write per request. */
  noteUse(jti: string, nowMs: number): void;
}

/** A guard for setups without a bot store: every bot token is refused as not current. */
export const NO_BOTS: BotTokenGuard = {
  check: () => 'revoked',
  noteUse: () => {},
};

/**
 * The token-state check: `BOT` tokens count only while they are their bot's current token, and
 * `PERSONAL_ACCESS` tokens while they are live, so that revoking or replacing one takes effect on
 * its next use; other tokens pass. Answered synchronously
 * from the guard; only a token newer than the bot's current token as this instance knows it
 * (minted a moment ago on another instance) waits for one re-read of that bot. A guard that
 * throws, or says `unavailable`, fails closed with 503.
 */
export function checkTokenState(
  principal: Principal,
  guard: BotTokenGuard,
  now: () => number,
  done: (err: JwtGateError | null, principal?: Principal) => void,
): void {
  const { tokenType } = principal;
  if (tokenType !== 'BOT' && tokenType !== 'PERSONAL_ACCESS') {
    done(null, principal);
    return;
  }
  const iat = principal.claims.iat;
  const personal = tokenType === 'PERSONAL_ACCESS';
  let error: JwtGateError | null;
  try {
    const state = stateOf(principal, guard, now, personal, typeof iat === 'number' ? iat * 1000 : undefined);
    const canReread = personal ? guard.refreshPersonal !== undefined : guard.refresh !== undefined;
    if (state === 'unknown' && canReread) {
      waitForReread(principal, guard, now, personal, done);
      return;
    }
    error = stateError(principal, state, guard, now);
  } catch (cause) {
    error = storeUnavailable(cause);
  }
  if (error === null) done(null, principal);
  else done(error);
}

/** The guard's answer for a bot token (`check`) or a personal token (`checkPersonal`, else refused). */
function stateOf(
  principal: Principal,
  guard: BotTokenGuard,
  now: () => number,
  personal: boolean,
  issuedAtMs: number | undefined,
): BotTokenState {
  return personal
    ? (guard.checkPersonal?.(principal.subject, principal.tokenId, now()) ?? 'revoked')
    : guard.check(principal.subject, principal.tokenId, now(), issuedAtMs);
}

/**
 * After `unknown`: re-reads the bot or the person, then checks once more — with no issue time, so a
 * token the store did not show is gone, and a token still `unknown` is refused.
 */
function waitForReread(
  principal: Principal,
  guard: BotTokenGuard,
  now: () => number,
  personal: boolean,
  done: (err: JwtGateError | null, principal?: Principal) => void,
): void {
  const reread = personal ? guard.refreshPersonal!(principal.subject) : guard.refresh!(principal.subject);
  reread
    .then(() => {
      const after = stateOf(principal, guard, now, personal, undefined);
      return stateError(principal, after === 'unknown' ? 'revoked' : after, guard, now);
    })
    .then(
      (err) => (err === null ? done(null, principal) : done(err)),
      (cause: unknown) => done(storeUnavailable(cause)),
    );
}

/** Null (and a noted use) when the token is current, else the error. */
function stateError(
  principal: Principal,
  state: BotTokenState,
  guard: BotTokenGuard,
  now: () => number,
): JwtGateError | null {
  if (state === 'valid') {
    if (principal.tokenId !== null) guard.noteUse(principal.tokenId, now());
    return null;
  }
  if (state === 'unavailable') return storeUnavailable();
  // `revoked`, or `unknown` with no way to re-read.
  return new InvalidTokenError(
    'ERR_TOKEN_REVOKED',
    principal.tokenType === 'PERSONAL_ACCESS'
      ? 'This personal access token has been revoked or has expired; generate a new one.'
      : 'This bot token has been revoked or replaced; generate a new one.',
  );
}

function storeUnavailable(cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_STORE_UNAVAILABLE',
    'Token state cannot be checked right now; try again shortly.',
    undefined,
    cause === undefined ? undefined : { cause },
  );
}
