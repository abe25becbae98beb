/**
 * Outcome of the revocation check of one of our own bot tokens. `unknown`: the token is newer than
 * the bot's current token as this instance knows it (minted a moment ago on another instance) —
 * the caller refreshes that bot once and checks again.
 */
export type BotTokenState = 'valid' | 'revoked' | 'unavailable' | 'unknown';

/**
 * The bot-token state check the verifier runs on every request carrying one of our `BOT` tokens
 * (cached or not). It must answer synchronously from memory; `unavailable` (the store cannot be
 * read and the answer is not known) makes the request fail closed with 503.
 */
export interface BotTokenGuard {
  check(botName: string, jti: string | null, nowMs: number, issuedAtMs?: number): BotTokenState;
  /** Re-reads one bot from the store (after `unknown`); never rejects. */
  refresh?(botName: string): Promise<void>;
  /** Records a use for `last used at`, batched: never a write per request. */
  noteUse(jti: string, nowMs: number): void;
}

/** A guard for setups without a bot store: every bot token is refused as not current. */
export const NO_BOTS: BotTokenGuard = {
  check: () => 'revoked',
  noteUse: () => {},
};
