import type { KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { Strategy as JwtStrategy } from 'passport-jwt';
import { InvalidTokenError, JwtGateError, ServiceUnavailableError } from '../errors.js';
import { reshapeRequest } from '../http/reshape-request.js';
import type { BotTokenGuard, BotTokenState } from './bot-token-guard.js';
import { extractBearerToken } from './extract-token.js';
import { type InspectedToken, inspectToken } from './inspect-token.js';
import type { KeySource } from './key-source.js';
import type { Principal } from './principal.js';
import type { PrincipalPolicy, TokenTrust } from './resolve-principal.js';
import { validateClaims } from './validate-claims.js';

/** Where the middleware leaves the already-extracted and inspected token for the strategy. */
export const INSPECTED_TOKEN = Symbol('jwt-gate.inspected-token');

export interface InspectedRequestToken {
  token: string;
  inspected: InspectedToken;
  /** The key handed to passport-jwt for this token (set by the strategy's key provider). */
  key?: KeyObject;
}

export interface RequestWithToken extends Request {
  [INSPECTED_TOKEN]?: InspectedRequestToken;
}

/** What every source strategy shares. */
export interface StrategyContext {
  policy: PrincipalPolicy;
  bots: BotTokenGuard;
  clockToleranceSeconds: number;
  maxTokenBytes: number;
  /** Epoch ms. */
  now: () => number;
}

/**
 * The passport-jwt strategy of one key source. Self-contained, so an app that already uses
 * Passport can `passport.use(name, strategy)` it directly: it extracts the bearer token (RFC 6750),
 * runs the strict structural and claim checks before any cryptography, gets the key from this
 * source only (never from the token: no `jku`/`x5u`/`jwk`), lets jsonwebtoken verify the signature
 * with the source's algorithm allowlist, then resolves the principal and checks bot-token state.
 */
export function createSourceStrategy(source: KeySource, ctx: StrategyContext): JwtStrategy {
  return new JwtStrategy(
    {
      jwtFromRequest: (req) => tokenOf(req as RequestWithToken, ctx)?.token ?? null,
      secretOrKeyProvider(
        req: RequestWithToken,
        _raw: string,
        done: (err: unknown, key?: string | Buffer) => void,
      ) {
        let inspected: InspectedToken;
        const entry = tokenOf(req, ctx)!;
        try {
          inspected = checkForSource(entry.inspected, source, ctx);
        } catch (err) {
          done(err);
          return;
        }
        const { kid, alg } = inspected.header;
        keyFromSource(source, kid, alg, (err, key) => {
          if (err) {
            done(err);
            return;
          }
          entry.key = key;
          // jsonwebtoken takes a KeyObject (parsed once per key); the typings only list string/Buffer.
          done(null, key as unknown as Buffer);
        });
      },
      algorithms: [...source.algorithms] as JwtStrategyAlgorithms,
      issuer: [...source.issuers],
      ...(source.audiences ? { audience: [...source.audiences] } : {}),
      jsonWebTokenOptions: { clockTolerance: ctx.clockToleranceSeconds },
      passReqToCallback: true,
    },
    (req: RequestWithToken, _payload: unknown, done: (err: unknown, user?: Principal | false) => void) => {
      principalFor(tokenOf(req, ctx)!.inspected, source, ctx, done);
    },
  );
}

type JwtStrategyAlgorithms = NonNullable<ConstructorParameters<typeof JwtStrategy>[0]['algorithms']>;

/**
 * The key for `kid` from this source only: from memory when held, else fetched under the source's
 * rate limits. Failures of remote sources reach the client in general words — the source's URL
 * and the upstream error stay in `cause` and in the health view, not in a 401/503 body.
 */
export function keyFromSource(
  source: KeySource,
  kid: string | undefined,
  alg: string,
  done: (err: JwtGateError | null, key?: KeyObject) => void,
): void {
  let key: KeyObject | undefined;
  try {
    key = source.getKeySync(kid, alg);
  } catch (err) {
    done(publicKeyError(err, source));
    return;
  }
  if (key !== undefined) done(null, key);
  else
    source.getKey(kid, alg).then(
      (k) => done(null, k),
      (err: unknown) => done(publicKeyError(err, source)),
    );
}

function publicKeyError(err: unknown, source: KeySource): JwtGateError {
  const error = toTokenError(err);
  if (source.kind !== 'remote') return error;
  const options = { cause: err };
  switch (error.code) {
    case 'ERR_KEYS_UNAVAILABLE':
      return new ServiceUnavailableError(
        'ERR_KEYS_UNAVAILABLE',
        "The signing keys of the token's issuer cannot be obtained right now; try again later.",
        Number((error as ServiceUnavailableError).headers['Retry-After'] ?? 5),
        options,
      );
    case 'ERR_TOKEN_KEY_UNKNOWN':
      return new InvalidTokenError(
        'ERR_TOKEN_KEY_UNKNOWN',
        'The token was signed with a key its issuer does not publish.',
        options,
      );
    case 'ERR_TOKEN_ALG_NOT_ALLOWED':
      return new InvalidTokenError(
        'ERR_TOKEN_ALG_NOT_ALLOWED',
        "The token's algorithm does not fit the key its issuer publishes.",
        options,
      );
    default:
      return error;
  }
}

/** Checks that bind a token to this source, before any key lookup. */
export function checkForSource(
  inspected: InspectedToken,
  source: KeySource,
  ctx: StrategyContext,
): InspectedToken {
  const { payload, header } = inspected;
  if (typeof payload.iss !== 'string' || !source.issuers.includes(payload.iss)) {
    throw new InvalidTokenError(
      'ERR_TOKEN_ISSUER_UNKNOWN',
      'The token was not issued by an issuer this server trusts.',
    );
  }
  if (!source.algorithms.includes(header.alg)) {
    throw new InvalidTokenError(
      'ERR_TOKEN_ALG_NOT_ALLOWED',
      `The token is signed with ${header.alg}, which is not accepted for its issuer (accepted: ${source.algorithms.join(', ')}).`,
    );
  }
  validateClaims(payload, {
    issuers: source.issuers,
    audiences: source.audiences,
    clockToleranceSeconds: ctx.clockToleranceSeconds,
    requireExp: source.requireExp,
    now: Math.floor(ctx.now() / 1000),
  });
  return inspected;
}

/**
 * Principal of a signature-verified token, then the bot-token state check for our own bots — and
 * for those of a trusted jwt-gate peer (`trustBotClaims`), whose bot store we share.
 */
export function principalFor(
  inspected: InspectedToken,
  source: KeySource,
  ctx: StrategyContext,
  done: (err: unknown, principal?: Principal) => void,
): void {
  const trust: TokenTrust =
    source.kind === 'self' ? 'self' : source.trustBotClaims === true ? 'peer' : 'external';
  let principal: Principal;
  try {
    principal = ctx.policy.resolve(inspected.payload, source.name, trust);
  } catch (err) {
    done(err);
    return;
  }
  // A peer's personal access tokens are revocable where they were minted, in a state our store
  // does not hold: accepting them would be accepting tokens nobody here can revoke.
  if (trust === 'peer' && principal.tokenType === 'PERSONAL_ACCESS') {
    done(
      new InvalidTokenError(
        'ERR_TOKEN_REVOKED',
        "Personal access tokens are accepted only by the server that issued them; this one's state cannot be checked here.",
      ),
    );
    return;
  }
  checkBotToken(principal, ctx, (err) => (err ? done(err) : done(null, principal)));
}

/**
 * `BOT` tokens count only while they are their bot's current token (DESIGN §2.3). Answered
 * synchronously from the registry; only a token newer than the bot's current token as this
 * instance knows it (minted a moment ago on another instance) waits for one re-read of that bot.
 */
export function checkBotToken(
  principal: Principal,
  ctx: StrategyContext,
  done: (err?: JwtGateError) => void,
): void {
  if (principal.tokenType !== 'BOT') {
    done();
    return;
  }
  const iat = principal.claims.iat;
  let state: BotTokenState;
  let error: JwtGateError | undefined;
  // A guard that throws cannot say the token is current: fail closed, as for `unavailable`.
  try {
    state = ctx.bots.check(
      principal.subject,
      principal.tokenId,
      ctx.now(),
      typeof iat === 'number' ? iat * 1000 : undefined,
    );
    if (state === 'unknown' && ctx.bots.refresh !== undefined) {
      ctx.bots
        .refresh(principal.subject)
        .then(() =>
          botTokenError(principal, ctx.bots.check(principal.subject, principal.tokenId, ctx.now()), ctx),
        )
        .then(done, (cause: unknown) => done(storeUnavailable(cause)));
      return;
    }
    error = botTokenError(principal, state, ctx);
  } catch (cause) {
    error = storeUnavailable(cause);
  }
  done(error);
}

/** The outcome of a bot-token check: nothing (and a noted use) when valid, else the error. */
function botTokenError(
  principal: Principal,
  state: BotTokenState,
  ctx: StrategyContext,
): JwtGateError | undefined {
  if (state === 'valid') {
    if (principal.tokenId !== null) ctx.bots.noteUse(principal.tokenId, ctx.now());
    return undefined;
  }
  if (state === 'unavailable') return storeUnavailable();
  // `revoked`, or still `unknown` after re-reading the bot.
  return new InvalidTokenError(
    'ERR_TOKEN_REVOKED',
    'This bot token has been revoked or replaced; generate a new one.',
  );
}

function storeUnavailable(cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_STORE_UNAVAILABLE',
    'Bot token state cannot be checked right now; try again shortly.',
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

function tokenOf(req: RequestWithToken, ctx: StrategyContext): InspectedRequestToken | undefined {
  const cached = req[INSPECTED_TOKEN];
  if (cached !== undefined) return cached;
  const token = extractBearerToken(req);
  if (token === undefined) return undefined;
  const entry: InspectedRequestToken = {
    token,
    inspected: inspectToken(token, { maxBytes: ctx.maxTokenBytes }),
  };
  // Used on its own by an app's Passport, the strategy adds the first property (see reshapeRequest).
  reshapeRequest(req);
  req[INSPECTED_TOKEN] = entry;
  return entry;
}

/**
 * jsonwebtoken's failures, in words a client can act on (never its class names or messages).
 * Our own typed errors pass through unchanged.
 */
export function toTokenError(err: unknown): JwtGateError {
  if (err instanceof JwtGateError) return err;
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : '';
  if (name === 'TokenExpiredError')
    return new InvalidTokenError('ERR_TOKEN_EXPIRED', 'The token has expired.');
  if (name === 'NotBeforeError')
    return new InvalidTokenError('ERR_TOKEN_NOT_YET_VALID', 'The token is not valid yet.');
  if (message.startsWith('jwt audience invalid')) {
    return new InvalidTokenError('ERR_TOKEN_AUDIENCE_INVALID', 'The token was issued for another audience.');
  }
  if (message.startsWith('jwt issuer invalid')) {
    return new InvalidTokenError(
      'ERR_TOKEN_ISSUER_UNKNOWN',
      'The token was not issued by an issuer this server trusts.',
    );
  }
  if (message === 'invalid algorithm') {
    return new InvalidTokenError(
      'ERR_TOKEN_ALG_NOT_ALLOWED',
      'The token is signed with an algorithm that is not accepted.',
    );
  }
  return new InvalidTokenError('ERR_TOKEN_SIGNATURE_INVALID', 'The token signature is not valid.');
}
