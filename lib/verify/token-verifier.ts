import type { NextFunction, Request, Response } from 'express';
import { Passport } from 'passport';
import type { Strategy as JwtStrategy } from 'passport-jwt';
import type { JwtGateError } from '../errors.js';
import { InvalidTokenError } from '../errors.js';
import { inspectToken } from './inspect-token.js';
import type { KeySources } from './build-key-sources.js';
import type { Principal } from './principal.js';
import {
  INSPECTED_TOKEN,
  type RequestWithToken,
  type StrategyContext,
  checkBotToken,
  createSourceStrategy,
  toTokenError,
} from './source-strategy.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export type VerifyCallback = (err: JwtGateError | null, principal?: Principal) => void;

/**
 * Token → principal, for one request: cache hit, or route by `iss` to the one source that may
 * judge the token and run that source's Passport strategy (on a Passport instance of our own,
 * never the app's global one).
 */
export class TokenVerifier {
  readonly passport = new Passport();
  readonly strategies: ReadonlyMap<string, JwtStrategy>;
  readonly #sources: KeySources;
  readonly #ctx: StrategyContext;
  readonly #cache: VerifiedTokenCache | null;
  readonly #strategyNames = new Map<string, string>();

  constructor(sources: KeySources, ctx: StrategyContext, cache: VerifiedTokenCache | null) {
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
    const cacheKey = this.#cache ? VerifiedTokenCache.keyOf(token) : '';
    const hit = this.#cache?.get(cacheKey, ctx.now());
    if (hit !== undefined) {
      checkBotToken(hit, ctx, (err) => (err ? done(toTokenError(err)) : done(null, hit)));
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
    (req as RequestWithToken)[INSPECTED_TOKEN] = { token, inspected };
    const strategyName = this.#strategyNames.get(source.name)!;
    const cache = this.#cache;
    const authenticate = this.passport.authenticate(
      strategyName,
      { session: false },
      (err: unknown, principal: Principal | false, info: unknown) => {
        if (err || !principal) {
          done(toTokenError(err ?? info));
          return;
        }
        // Cache only what is valid now; a not-yet-valid token never reaches here (validateClaims).
        cache?.set(cacheKey, principal, inspected.header.kid);
        done(null, principal);
      },
    ) as (req: Request, res: Response, next: NextFunction) => void;
    authenticate(req, res, (err?: unknown) => done(toTokenError(err)));
  }
}
