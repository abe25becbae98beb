import type { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Passport } from 'passport';
import type { Strategy as JwtStrategy } from 'passport-jwt';
import type { JwtGateError } from '../errors.js';
import { InvalidTokenError } from '../errors.js';
import { type InspectedToken, inspectToken } from './inspect-token.js';
import type { KeySource } from './key-source.js';
import { SignatureOffload } from './signature-offload.js';
import { verifySignature } from './verify-signature.js';
import type { KeySources } from './build-key-sources.js';
import type { Principal } from './principal.js';
import {
  INSPECTED_TOKEN,
  type InspectedRequestToken,
  type RequestWithToken,
  type StrategyContext,
  checkBotToken,
  checkForSource,
  keyFromSource,
  principalFor,
  createSourceStrategy,
  toTokenError,
} from './source-strategy.js';
import type { VerifiedTokenCache } from './verified-token-cache.js';

export interface TokenVerifierOptions {
  /** `direct` (default) or `passport` (`verificationConfiguration.engine`). */
  engine?: 'direct' | 'passport';
  /**
   * `direct` only: check signatures on libuv's thread pool rather than on the event loop
   * (`verificationConfiguration.offloadSignatures`). Default true.
   */
  offloadSignatures?: boolean;
}

export type VerifyCallback = (err: JwtGateError | null, principal?: Principal) => void;

/**
 * Token → principal, for one request: cache hit, or route by `iss` to the one source that may
 * judge the token and verify it with that source's rules and keys — directly, or through the
 * source's passport-jwt strategy (`engine: passport`). Each source has its strategy on a Passport
 * instance of our own (never the app's global one), exported for apps that use Passport.
 */
export class TokenVerifier {
  readonly passport = new Passport();
  readonly strategies: ReadonlyMap<string, JwtStrategy>;
  readonly #sources: KeySources;
  readonly #ctx: StrategyContext;
  readonly #cache: VerifiedTokenCache | null;
  readonly #strategyNames = new Map<string, string>();
  readonly #engine: 'direct' | 'passport';
  /** Set when signatures are checked on the thread pool (`offloadSignatures`). */
  readonly #offload: SignatureOffload | null;

  constructor(
    sources: KeySources,
    ctx: StrategyContext,
    cache: VerifiedTokenCache | null,
    options: TokenVerifierOptions = {},
  ) {
    this.#engine = options.engine ?? 'direct';
    this.#offload = (options.offloadSignatures ?? true) ? new SignatureOffload() : null;
    this.#sources = sources;
    this.#ctx = ctx;
    this.#cache = cache;
    const strategies = new Map<string, JwtStrategy>();
    sources.all.forEach((source, index) => {
      const name = source.kind === 'self' ? 'jwt-gate-self' : `jwt-gate-source-${index}`;
      const strategy = createSourceStrategy(source, ctx);
      this.passport.use(name, strategy);
      strategies.set(source.name, strategy);
      this.#strategyNames.set(source.name, name);
      source.onKeysChanged((kids) => cache?.dropKey(source.name, kids));
    });
    this.strategies = strategies;
  }

  /** Drops cached verifications of a bot token (revoked or replaced). */
  forgetTokenId(jti: string): void {
    this.#cache?.dropTokenId(jti);
  }

  verify(req: Request, res: Response, token: string, done: VerifyCallback): void {
    const ctx = this.#ctx;
    const cache = this.#cache;
    let cacheKey: string | null = null;
    let hit: Principal | undefined;
    // A token not verified before is verified without a lookup (see VerifiedTokenCache).
    if (cache !== null && cache.seen(token)) {
      cacheKey = cache.keyOn(req.socket, token);
      hit = cache.get(cacheKey, ctx.now());
    }
    if (hit !== undefined) {
      // A bot token's state is checked on every use, cached or not (revocation is immediate).
      if (hit.tokenType !== 'BOT') done(null, hit);
      else checkBotToken(hit, ctx, (err) => (err ? done(toTokenError(err)) : done(null, hit)));
      return;
    }

    let inspected;
    try {
      inspected = inspectToken(token, { maxBytes: ctx.maxTokenBytes });
    } catch (err) {
      done(toTokenError(err));
      return;
    }
    const iss = inspected.payload.iss;
    const source = typeof iss === 'string' ? this.#sources.byIssuer.get(iss) : undefined;
    if (source === undefined) {
      done(
        new InvalidTokenError(
          'ERR_TOKEN_ISSUER_UNKNOWN',
          'The token was not issued by an issuer this server trusts.',
        ),
      );
      return;
    }
    const { kid, alg } = inspected.header;
    const accept = (principal: Principal, key: KeyObject | undefined): void => {
      // Cache only what is valid now (a not-yet-valid token never reaches here: validateClaims),
      // tied to the key that verified it, from the token's second verification on.
      if (key !== undefined && cache?.admit(token))
        cache.set(cacheKey ?? cache.keyOn(req.socket, token), principal, source, kid, alg, key);
      done(null, principal);
    };
    if (this.#engine === 'passport') {
      this.#viaPassport(req, res, token, inspected, source, accept, done);
      return;
    }

    // The same checks the source's strategy makes, without the Passport round trip: bind the token
    // to its source, take the key from that source only, verify, resolve the principal.
    try {
      checkForSource(inspected, source, ctx);
    } catch (err) {
      done(toTokenError(err));
      return;
    }
    const judge = (key: KeyObject, valid: boolean): void => {
      if (!valid) {
        done(new InvalidTokenError('ERR_TOKEN_SIGNATURE_INVALID', 'The token signature is not valid.'));
        return;
      }
      principalFor(inspected, source, ctx, (err, principal) => {
        if (err || principal === undefined) done(toTokenError(err));
        else accept(principal, key);
      });
    };
    keyFromSource(source, kid, alg, (err, key) => {
      if (err) done(err);
      else if (key === undefined)
        done(new InvalidTokenError('ERR_TOKEN_KEY_UNKNOWN', 'No key verifies this token.'));
      else if (this.#offload === null)
        judge(key, verifySignature(alg, inspected.signingInput, inspected.signature, key));
      else
        this.#offload.verify(alg, inspected.signingInput, inspected.signature, key, (valid) =>
          judge(key, valid),
        );
    });
  }

  /** `engine: passport`: the source's passport-jwt strategy decides. */
  #viaPassport(
    req: Request,
    res: Response,
    token: string,
    inspected: InspectedToken,
    source: KeySource,
    accept: (principal: Principal, key: KeyObject | undefined) => void,
    done: VerifyCallback,
  ): void {
    const entry: InspectedRequestToken = { token, inspected };
    (req as RequestWithToken)[INSPECTED_TOKEN] = entry;
    const authenticate = this.passport.authenticate(
      this.#strategyNames.get(source.name)!,
      { session: false },
      (err: unknown, principal: Principal | false, info: unknown) => {
        if (err || !principal) done(toTokenError(err ?? info));
        // Tied to the key passport-jwt was given for this very token.
        else accept(principal, entry.key);
      },
    ) as (req: Request, res: Response, next: NextFunction) => void;
    authenticate(req, res, (err?: unknown) => done(toTokenError(err)));
  }
}
