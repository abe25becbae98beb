/**
 * The DPoP binding check (RFC 9449 §7.1, §6.1), run by the verifier after a token is verified and
 * its state checked — cached or not, through `gate.authenticate` or a Passport strategy:
 *
 * - a token bound to a key (`cnf.jkt`) must come as `Authorization: DPoP <token>` with exactly one
 *   `DPoP` proof header, whose proof matches this request (method, URL, `ath` = this token) and is
 *   signed by that very key, and whose `jti` was never seen before — on any instance sharing the
 *   store (the replay claim is the store's `claimDpopProof`, in memory without a store);
 * - a token that is not bound must come as `Bearer`: the `DPoP` scheme with an unbound token is
 *   refused rather than downgraded, so a client that believes its token is bound learns it is not;
 * - a token bound by another confirmation method (`cnf` without `jkt`, e.g. mTLS `x5t#S256`) is
 *   refused: its binding cannot be checked here, and accepting it as Bearer would undo it.
 *
 * Unbound Bearer tokens never get here: the verifier asks {@link needsDpopCheck} first.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DpopProofError, InvalidTokenError, type JwtGateError, ServiceUnavailableError } from '../errors.js';
import { type RequestHtu, createRequestHtu } from '../dpop/request-htu.js';
import { MemoryReplayCache } from '../dpop/replay-cache.js';
import {
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopProofVerifier,
  createDpopProofVerifier,
} from '../dpop/verify-proof.js';
import { DpopNonces } from './dpop-nonce.js';
import { sentWithDpopScheme } from './extract-token.js';
import type { Principal } from './principal.js';

/** What the binding check reads of a request (an Express request has it). */
export interface DpopBoundRequest {
  method: string;
  originalUrl?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  rawHeaders?: string[];
  socket: { remoteAddress?: string | undefined; encrypted?: boolean };
}

export interface DpopBindingOptions {
  /** Proof algorithms accepted. Default: all of `DPOP_ALGORITHMS`. */
  algorithms?: readonly DpopAlgorithm[];
  /** How old a proof may be, seconds. Default 60. */
  proofMaxAgeSeconds?: number;
  /** See `createRequestHtu`. Empty or undefined: none. */
  externalOrigin?: string;
  trustedProxies?: readonly string[];
  /** Require a server nonce (RFC 9449 §8). Default false. */
  requireNonce?: boolean;
  /** The nonces' HMAC secret; empty or undefined: random per process. */
  nonceSecret?: string;
  /**
   * The shared replay claim (`BotStore.claimDpopProof`); undefined: a `MemoryReplayCache` of this
   * process.
   */
  claimProof?: (key: string, expiresAt: number, now: number) => Promise<boolean>;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * True when the request needs the binding check: its token is bound (`cnf`), or it came with the
 * `DPoP` scheme. One claim read and one header read: the unbound Bearer path costs nothing else.
 */
export function needsDpopCheck(principal: Principal, req: { headers: IncomingHttpHeaders }): boolean {
  return principal.claims.cnf !== undefined || sentWithDpopScheme(req);
}

export class DpopBinding {
  /** The proof algorithms accepted, as advertised (`algs`, discovery metadata). */
  readonly algorithms: readonly DpopAlgorithm[];
  /** Set when nonces are required: the source of `DPoP-Nonce` values. */
  readonly nonces: DpopNonces | null;
  readonly #verifyProof: DpopProofVerifier;
  readonly #htuOf: RequestHtu;
  readonly #claim: (key: string, expiresAt: number, now: number) => Promise<boolean> | boolean;
  readonly #now: () => number;

  /** @throws {ConfigError} naming the option that is wrong. */
  constructor(options: DpopBindingOptions = {}) {
    this.algorithms = Object.freeze([...(options.algorithms ?? DPOP_ALGORITHMS)]);
    this.#now = options.now ?? Date.now;
    this.nonces = options.requireNonce === true ? new DpopNonces(options.nonceSecret ?? '', this.#now) : null;
    this.#verifyProof = createDpopProofVerifier({
      algorithms: this.algorithms,
      ...(options.proofMaxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.proofMaxAgeSeconds }),
      now: this.#now,
      ...(this.nonces === null ? {} : { nonce: this.nonces.verdict }),
    });
    this.#htuOf = createRequestHtu({
      ...(options.externalOrigin ? { externalOrigin: options.externalOrigin } : {}),
      trustedProxies: options.trustedProxies ?? [],
    });
    if (options.claimProof !== undefined) {
      this.#claim = options.claimProof;
    } else {
      const replays = new MemoryReplayCache();
      this.#claim = (key, expiresAt, now) => replays.claim(key, expiresAt, now);
    }
  }

  /**
   * Checks `token` (verified, of `principal`) against the request's scheme and DPoP proof, and
   * calls `done` once with null or the error: 401 `invalid_token` for the wrong scheme, 401
   * `invalid_dpop_proof`/`use_dpop_nonce` for the proof, 503 when the replay store cannot answer.
   */
  check(
    req: DpopBoundRequest,
    token: string,
    principal: Principal,
    done: (err: JwtGateError | null) => void,
  ): void {
    const cnf = principal.claims.cnf;
    const viaDpop = sentWithDpopScheme(req);
    if (cnf === undefined) {
      done(viaDpop ? this.#notBound() : null);
      return;
    }
    const jkt = boundKeyOf(cnf);
    if (jkt === undefined) {
      done(
        new InvalidTokenError(
          'ERR_TOKEN_CLAIM_INVALID',
          'The token is bound by a confirmation method this server cannot check (its "cnf" has no DPoP "jkt").',
        ).setDpopChallenge(this.algorithms),
      );
      return;
    }
    if (!viaDpop) {
      done(
        new InvalidTokenError(
          'ERR_TOKEN_DPOP_REQUIRED',
          'This token is bound to a key (DPoP): send it as Authorization: DPoP <token> with a DPoP proof.',
        ).setDpopChallenge(this.algorithms),
      );
      return;
    }
    let replayKey: string;
    let replayUntil: number;
    try {
      const proof = this.#verifyProof(proofHeader(req), {
        method: req.method,
        htu: this.#htuOf(req),
        accessToken: token,
      });
      if (proof.jkt !== jkt) {
        throw new DpopProofError(
          'invalid_dpop_proof',
          'The DPoP proof is signed by a key other than the one the token is bound to.',
        );
      }
      ({ replayKey, replayUntil } = proof);
    } catch (err) {
      done(this.#proofError(err));
      return;
    }
    // The replay claim last: only a proof that passed everything else takes its `jti`.
    let claimed: Promise<boolean> | boolean;
    try {
      claimed = this.#claim(replayKey, replayUntil, this.#now());
    } catch (cause) {
      done(replayStoreUnavailable(cause));
      return;
    }
    if (typeof claimed === 'boolean') {
      done(claimed ? null : this.#replayed());
      return;
    }
    claimed.then(
      (fresh) => done(fresh ? null : this.#replayed()),
      (cause: unknown) => done(replayStoreUnavailable(cause)),
    );
  }

  #notBound(): InvalidTokenError {
    return new InvalidTokenError(
      'ERR_TOKEN_NOT_DPOP_BOUND',
      'This token is not bound to a key: send it as Authorization: Bearer <token>, without a DPoP proof.',
    ).setDpopChallenge(this.algorithms);
  }

  #replayed(): DpopProofError {
    return this.#proofError(
      new DpopProofError(
        'invalid_dpop_proof',
        'The DPoP proof has been used before (replayed): send a fresh proof with every request.',
      ),
    );
  }

  /** Any failure of the proof as a DPoP error with this server's challenge; never a 500. */
  #proofError(err: unknown): DpopProofError {
    const error =
      err instanceof DpopProofError
        ? err
        : new DpopProofError('invalid_dpop_proof', 'The DPoP proof could not be verified.', { cause: err });
    error.setChallenge({ algs: this.algorithms, alsoBearer: true });
    if (error.error === 'use_dpop_nonce' && this.nonces !== null) error.setNonce(this.nonces.current());
    return error;
  }
}

/** `cnf.jkt` when it is a string (RFC 9449 §6.1), else undefined. */
function boundKeyOf(cnf: unknown): string | undefined {
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const jkt = (cnf as Record<string, unknown>).jkt;
  return typeof jkt === 'string' && jkt.length > 0 ? jkt : undefined;
}

/** The one `DPoP` header (RFC 9449 §4.3 check 1): none or several is an invalid proof, never "the first". */
function proofHeader(req: DpopBoundRequest): string {
  let count = 0;
  const raw = req.rawHeaders;
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (name !== undefined && name.length === 4 && name.toLowerCase() === 'dpop') count++;
    }
  }
  const value = req.headers.dpop;
  if (count > 1 || Array.isArray(value)) {
    throw new DpopProofError(
      'invalid_dpop_proof',
      'The request has more than one DPoP header; send exactly one proof.',
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new DpopProofError(
      'invalid_dpop_proof',
      'The token is sent with the DPoP scheme but the request has no DPoP proof header.',
    );
  }
  return value;
}

function replayStoreUnavailable(cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_STORE_UNAVAILABLE',
    'The DPoP replay check cannot be made right now; try again shortly.',
    undefined,
    { cause },
  );
}
