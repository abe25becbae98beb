import type { KeyObject } from 'node:crypto';
import { verifySignature, verifySignatureOffThread } from './verify-signature.js';

/**
 * No offloaded check has finished for this long while some are waiting: the thread pool is
 * taken (a slow DNS lookup holds a thread for seconds), and checks run on the event loop instead.
 */
export const THREAD_POOL_STALL_MS = 100;

/**
 * Signature checks on libuv's thread pool ({@link verifySignatureOffThread}) that never wait on a
 * stalled pool. The pool is shared with file I/O, zlib and DNS lookups; when none of the checks
 * waiting on it has finished for {@link THREAD_POOL_STALL_MS}, new checks run on the event loop
 * until the pool moves again — a stalled pool delays only the checks already queued on it.
 */
export class SignatureOffload {
  #waiting = 0;
  /** When a waiting check last finished, or the first one started waiting. */
  #progressAt = 0;
  #onEventLoop = 0;
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
    if (this.#waiting > 0 && now - this.#progressAt > THREAD_POOL_STALL_MS) {
      this.#onEventLoop++;
      done(verifySignature(alg, signingInput, signature, key));
      return;
    }
    if (this.#waiting === 0) this.#progressAt = now;
    this.#waiting++;
    verifySignatureOffThread(alg, signingInput, signature, key, (valid) => {
      this.#waiting--;
      this.#progressAt = this.#now();
      done(valid);
    });
  }
}
