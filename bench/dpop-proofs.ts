/**
 * The DPoP rows' request headers: `Authorization: DPoP <token>` and a fresh proof per request
 * (issue 20). Signing an ES256 proof costs the load generator about 70 µs (2-core VM), more than
 * half of what bare Express spends on a request, so proofs are signed before each load run, not
 * during it: a pool sized from the fastest rate seen so far, each proof sent once. A proof is good
 * for 60 s after its `iat`; the pool is minted right before the run and what is left over is
 * dropped once 30 s old. Should a run outpace its pool, the rest are signed on the fly and counted.
 */
import { generateKeyPairSync } from 'node:crypto';
import { type DpopKey, createDpopProof, dpopKeyFromJwk } from '../lib/client/dpop-key.js';
import { BENCH_PATH, type RequestHeaders } from './load.js';

/** Leftover proofs older than this are not sent (60 s validity, with margin for a whole run). */
const MAX_PROOF_AGE_MS = 30_000;
/** Headroom over the fastest rate seen, and the rate assumed before any run. */
const RATE_HEADROOM = 1.3;
const INITIAL_RATE = 6000;

/** A fresh P-256 key, as the ingestion client creates on first use. */
export function generateDpopKey(): DpopKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return dpopKeyFromJwk(privateKey.export({ format: 'jwk' }));
}

/** The fastest rate any load run reached, req/s: sizes every pool. */
let fastestRate = INITIAL_RATE;

/** Fresh proofs for `GET <url>/api/v1/tables` with `token`, each sent once. */
export class DpopProofPool implements RequestHeaders {
  readonly #key: DpopKey;
  readonly #token: string;
  readonly #url: string;
  readonly #authorization: string;
  /** Whether proofs are sent again once all were sent (for bare Express, which ignores them). */
  readonly #cycle: boolean;
  #proofs: string[] = [];
  #next = 0;
  #mintedAt = 0;
  /** Proofs signed during a load run because the pool ran out (the load generator then did more). */
  signedDuringLoad = 0;
  /** Proofs signed before load runs. */
  minted = 0;

  constructor(key: DpopKey, token: string, appUrl: string, options: { cycle?: boolean } = {}) {
    this.#key = key;
    this.#token = token;
    this.#url = appUrl + BENCH_PATH;
    this.#authorization = `DPoP ${token}`;
    this.#cycle = options.cycle ?? false;
  }

  /** Before a run of `seconds`: enough unsent, recent proofs for it at the fastest rate seen. */
  prepare(seconds: number): void {
    const now = Date.now();
    if (this.#cycle && this.#proofs.length > 0) return;
    if (now - this.#mintedAt > MAX_PROOF_AGE_MS) {
      this.#proofs = [];
      this.#next = 0;
    } else {
      this.#proofs = this.#proofs.slice(this.#next);
      this.#next = 0;
    }
    const wanted = Math.ceil(fastestRate * RATE_HEADROOM * seconds) + 500;
    if (this.#proofs.length >= wanted) return;
    if (this.#proofs.length === 0) this.#mintedAt = now;
    this.minted += wanted - this.#proofs.length;
    while (this.#proofs.length < wanted) this.#proofs.push(this.#sign());
  }

  /** After a run: the rate it reached. */
  ran(requestsPerSecond: number): void {
    fastestRate = Math.max(fastestRate, requestsPerSecond);
  }

  next(): Record<string, string> {
    let proof = this.#proofs[this.#next];
    if (proof === undefined && this.#cycle && this.#proofs.length > 0) {
      this.#next = 0;
      proof = this.#proofs[0];
    }
    if (proof === undefined) {
      this.signedDuringLoad++;
      proof = this.#sign();
    } else {
      this.#next++;
    }
    return { authorization: this.#authorization, dpop: proof };
  }

  #sign(): string {
    return createDpopProof(this.#key, { method: 'GET', url: this.#url, accessToken: this.#token });
  }
}
