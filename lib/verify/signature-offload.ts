import type { KeyObject } from 'node:crypto';
import { verifySignature, verifySignatureOffThread } from './verify-signature.js';

/**
 * No offloaded check has finished for this long while some are waiting: the thread pool is
 * taken (a slow DNS lookup holds a thread for seconds), and checks run on the event loop instead.
 */
export const THREAD_POOL_STALL_MS = 100;

/** A check handed to the thread pool, until the pool answers it. */
interface WaitingCheck {
  readonly alg: string;
  readonly signingInput: string;
  readonly signature: Buffer;
  readonly key: KeyObject;
  readonly done: (valid: boolean) => void;
  /** Set once `done` has been called: by the pool, or by the event loop when the pool stalled. */
  answered: boolean;
}

/**
 * Signature checks on libuv's thread pool ({@link verifySignatureOffThread}) that never wait on a
 * stalled pool. The pool is shared with file I/O, zlib and DNS lookups; when none of the checks
 * waiting on it has finished for {@link THREAD_POOL_STALL_MS}, new checks run on the event loop
 * until the pool moves again, and the checks stuck on it are answered on the event loop too (their
 * late answers from the pool are dropped). No check waits much more than twice that long.
 */
export class SignatureOffload {
  readonly #waiting = new Set<WaitingCheck>();
  /** When a waiting check was last answered by the pool, or the first one started waiting. */
  #progressAt = 0;
  #onEventLoop = 0;
  #watchdog: NodeJS.Timeout | null = null;
  readonly #now: () => number;

  /** @param now - A monotonic clock in ms; default `performance.now`. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Checks made on the event loop because the pool was stalled, since start. */
  get checksOnEventLoop(): number {
    return this.#onEventLoop;
  }

  /** Same contract as {@link verifySignatureOffThread}. */
  verify(
    alg: string,
    signingInput: string,
    signature: Buffer,
    key: KeyObject,
    done: (valid: boolean) => void,
  ): void {
    const now = this.#now();
    if (this.#stalled(now)) {
      this.#onEventLoop++;
      done(verifySignature(alg, signingInput, signature, key));
      return;
    }
    const check: WaitingCheck = { alg, signingInput, signature, key, done, answered: false };
    if (this.#waiting.size === 0) this.#progressAt = now;
    this.#waiting.add(check);
    let synchronous = true;
    verifySignatureOffThread(alg, signingInput, signature, key, (valid) => {
      this.#waiting.delete(check);
      // A refusal answered at once (a signature of the wrong length) is no sign of the pool moving.
      if (!synchronous) this.#progressAt = this.#now();
      if (!check.answered) {
        check.answered = true;
        done(valid);
      }
    });
    synchronous = false;
    if (this.#waiting.size > 0) this.#watch();
  }

  #stalled(now: number): boolean {
    return this.#waiting.size > 0 && now - this.#progressAt > THREAD_POOL_STALL_MS;
  }

  /** While checks wait on the pool, looks every THREAD_POOL_STALL_MS whether it has stalled. */
  #watch(): void {
    if (this.#watchdog !== null) return;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = null;
      if (this.#stalled(this.#now())) this.#answerStuckChecks();
      if (this.#waiting.size > 0) this.#watch();
    }, THREAD_POOL_STALL_MS + 1);
    this.#watchdog.unref();
  }

  /** Answers the checks stuck on the stalled pool on the event loop. */
  #answerStuckChecks(): void {
    for (const check of this.#waiting) {
      if (check.answered) continue;
      check.answered = true;
      this.#onEventLoop++;
      check.done(verifySignature(check.alg, check.signingInput, check.signature, check.key));
    }
  }
}
