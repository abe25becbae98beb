/** Outcome of the revocation check of one of our own bot tokens. */
export type BotTokenState = 'valid' | 'revoked' | 'unavailable';

/**
 * The bot-token state check the verifier runs on every request carrying one of our `BOT` tokens
 * (cached or not). It must answer synchronously from memory; `unavailable` (the store cannot be
 * read and the answer is not known) makes the request fail closed with 503.
 */
export interface BotTokenGuard {
  check(botName: string, jti: string | null, nowMs: number): BotTokenState;
  /** Records a use for `last used at`, batched: never a write per request. */
  noteUse(jti: string, nowMs: number): void;
}

/** A guard for setups without a bot store: every bot token is refused as not current. */
export const NO_BOTS: BotTokenGuard = {
  check: () => 'revoked',
  noteUse: () => {},
};
