import type { BotStore } from '../store/types.js';

/** More buffered uses than this trigger an early flush (a bound, not a tuning knob). */
const MAX_BUFFERED_USES = 10_000;

/**
 * "Last used at" of bot and personal tokens, buffered: a use is noted in memory on every request
 * and written to the store in batches — every `intervalMs`, when the buffer is full, and at
 * `close()` — never one write per request. A failed write keeps its uses for the next flush.
 */
export class LastUseBuffer {
  readonly #store: Pick<BotStore, 'recordLastUsed'>;
  /** jti → its latest use not yet written, epoch ms. */
  readonly #uses = new Map<string, number>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Pick<BotStore, 'recordLastUsed'>, intervalMs: number) {
    this.#store = store;
    this.#intervalMs = intervalMs;
  }

  /** Starts the periodic flush (a timer that does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.flush(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Notes a use; only a later time replaces an earlier one. */
  note(jti: string, nowMs: number): void {
    const seen = this.#uses.get(jti);
    if (seen === undefined || nowMs > seen) this.#uses.set(jti, nowMs);
    if (this.#uses.size > MAX_BUFFERED_USES) void this.flush();
  }

  /** A use of `jti` noted but not yet written, epoch ms. */
  pending(jti: string): number | undefined {
    return this.#uses.get(jti);
  }

  /** Writes the buffered uses, one batch at a time. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#uses.size === 0) return;
      const batch = [...this.#uses].map(([jti, at]) => ({ jti, at }));
      this.#uses.clear();
      try {
        await this.#store.recordLastUsed(batch);
      } catch {
        for (const { jti, at } of batch) this.note(jti, at);
      }
    });
    return this.#flushing;
  }

  /** Stops the timer and writes what is buffered. */
  close(): Promise<void> {
    clearInterval(this.#timer);
    return this.flush();
  }
}
