import type { KeyObject } from 'node:crypto';
import { verifySignature, verifySignatureOffThread } from '../keys/verify-signature.js';

/**
 * How often the watchdog looks whether the thread pool still answers. When it answered no check
 * between two looks while one waited throughout, the pool is taken (a slow DNS lookup holds a
 * thread for seconds), and checks run on the event loop instead.
 */
export const THREAD_POOL_STALL_MS = 100;

/** A check handed to the thread pool, until the pool answers it. */
class WaitingCheck {
  /** Neighbours in the offload's list of checks on the pool, oldest first. */
  prev: WaitingCheck | null = null;
  next: WaitingCheck | null = null;
  /** Whether the check is in that list (it leaves it when the pool answers). */
  listed = false;
  /** Set once `done` has been called: by the pool, or by the event loop when the pool stalled. */
  answered = false;
  /** The watchdog's look at which the check was handed to the pool. */
  look = 0;

  constructor(
    readonly alg: string,
    readonly signingInput: string,
    readonly signature: Buffer,
    readonly key: KeyObject,
    readonly done: (valid: boolean) => void,
  ) {}
}

/**
 * Signature checks on libuv's thread pool ({@link verifySignatureOffThread}) that never wait on a
 * stalled pool. The pool is shared with file I/O, zlib and DNS lookups. While checks wait on it,
 * a watchdog looks every {@link THREAD_POOL_STALL_MS} whether it answered any since its last look;
 * when it answered none while the oldest check waited throughout, new checks run on the event
 * loop until the pool moves again, and the checks stuck on it are answered on the event loop too
 * (their late answers from the pool are dropped). No check waits much more than twice that long.
 *
 * A check costs no clock reading and nothing beyond its own record: an earlier version read the
 * clock twice per check and kept the checks in a `Set`, and made every young-generation collection
 * promote about a third more under load (bench/README.md).
 */
export class SignatureOffload {
  /** Checks on the pool, oldest first. */
  #oldest: WaitingCheck | null = null;
  #newest: WaitingCheck | null = null;
  /** Whether the pool answered a check since the watchdog's last look. */
  #poolAnswered = false;
  /**
   * Counts the watchdog's looks: a check handed over before the current look has waited a whole
   * interval.
   */
  #look = 0;
  /** Set when the pool stalled; cleared by its next answer. */
  #stalled = false;
  #onEventLoop = 0;
  #watchdog: NodeJS.Timeout | null = null;

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
    if (this.#stalled) {
      this.#onEventLoop++;
      done(verifySignature(alg, signingInput, signature, key));
      return;
    }
    const check = new WaitingCheck(alg, signingInput, signature, key, done);
    verifySignatureOffThread(alg, signingInput, signature, key, (valid) => {
      this.#answer(check, valid);
    });
    // A refusal is answered at once (a signature of the wrong length): it never waits on the pool.
    if (!check.answered) this.#add(check);
  }

  #answer(check: WaitingCheck, valid: boolean): void {
    if (check.listed) {
      // The pool moves.
      this.#remove(check);
      this.#poolAnswered = true;
      this.#stalled = false;
    }
    if (!check.answered) {
      check.answered = true;
      check.done(valid);
    }
  }

  #add(check: WaitingCheck): void {
    check.listed = true;
    check.look = this.#look;
    check.prev = this.#newest;
    if (this.#newest === null) this.#oldest = check;
    else this.#newest.next = check;
    this.#newest = check;
    if (this.#watchdog === null) this.#watch();
  }

  #remove(check: WaitingCheck): void {
    check.listed = false;
    if (check.prev === null) this.#oldest = check.next;
    else check.prev.next = check.next;
    if (check.next === null) this.#newest = check.prev;
    else check.next.prev = check.prev;
    check.prev = check.next = null;
  }

  /**
   * While checks wait on the pool, looks every THREAD_POOL_STALL_MS whether the pool answered any.
   * It has stalled when it answered none since the last look while the oldest check waited
   * through the whole interval.
   */
  #watch(): void {
    this.#poolAnswered = false;
    this.#look++;
    this.#watchdog = setTimeout(() => {
      this.#watchdog = null;
      const oldest = this.#oldest;
      if (oldest === null) return;
      if (!this.#poolAnswered && oldest.look < this.#look) {
        this.#stalled = true;
        this.#answerStuckChecks();
      }
      this.#watch();
    }, THREAD_POOL_STALL_MS);
    this.#watchdog.unref();
  }

  /** Answers the checks stuck on the stalled pool on the event loop. */
  #answerStuckChecks(): void {
    for (let check = this.#oldest; check !== null; check = check.next) {
      if (check.answered) continue;
      check.answered = true;
      this.#onEventLoop++;
      check.done(verifySignature(check.alg, check.signingInput, check.signature, check.key));
    }
  }
}
