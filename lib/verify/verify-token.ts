/**
 * The verification of one token, top to bottom, in {@link TokenVerifier.verify}:
 *
 * 1. the cache: a token verified before, while its source still holds the key that verified it;
 * 2. structural checks, before anything in the token is trusted;
 * 3. the one key source its `iss` names — no other source is ever tried;
 * 4. that source's rules: its algorithms, then the claims (issuer, audience, time window). They
 *    need no key, so a token that fails them costs no key fetch and no RSA check;
 * 5. the key, from that source only (never from the token);
 * 6. the signature: `crypto.verify` (`engine: direct`, on libuv's thread pool with
 *    `offloadSignatures`), or jsonwebtoken in the source's passport-jwt strategy (`engine:
 *    passport`, and requests that come in through a strategy);
 * 7. the principal;
 * 8. the token-state check of bot tokens, on every use, cached or not; then the cache remembers
 *    the token;
 * 9. the DPoP binding (lib/verify/dpop-binding.ts), on every use, cached or not: a bound token
 *    (`cnf`) only with the `DPoP` scheme and a fresh proof by its key; the `DPoP` scheme only with a
 *    bound token. An unbound Bearer token pays one claim read and one header read.
 *
 * Both engines and the Passport strategies run this one path; only step 6 differs. It is written
 * with callbacks, not promises, because a cache hit — almost every request — must answer without
 * allocating: only a key fetch, the thread pool and a bot re-read ever wait.
 */
import type { KeyObject } from 'node:crypto';
import type { Request, Response } from 'express';
import { Passport } from 'passport';
import { InvalidTokenError, JwtGateError, ServiceUnavailableError } from '../errors.js';
import { type BotTokenGuard, checkTokenState } from './bot-token-guard.js';
import { DpopBinding, needsDpopCheck } from './dpop-binding.js';
import type { KeySources } from './build-key-sources.js';
import { type InspectedToken, type InspectOptions, inspectToken } from './inspect-token.js';
import type { KeySource } from './key-source.js';
import { checkSignatureWithStrategy, SourceStrategy } from './passport-strategy.js';
import type { Principal } from './principal.js';
import type { PrincipalPolicy, TokenTrust } from './resolve-principal.js';
import { DEFAULT_SCOPE_RULE } from './scopes.js';
import { SignatureOffload } from './signature-offload.js';
import { validateClaims } from './validate-claims.js';
import { VerifiedTokenCache } from './verified-token-cache.js';
import { verifySignature } from '../keys/verify-signature.js';

/** What every token is held to, whichever source judges it. */
export interface VerificationRules {
  policy: PrincipalPolicy;
  bots: BotTokenGuard;
  clockToleranceSeconds: number;
  maxTokenBytes: number;
  /** Epoch ms. */
  now: () => number;
  /** The DPoP binding check (step 9). Default: a `DpopBinding` with its defaults (replays in memory). */
  dpop?: DpopBinding;
}

export interface TokenVerifierOptions {
  /** `direct` (default) or `passport` (`verificationConfiguration.engine`): who checks signatures. */
  engine?: 'direct' | 'passport';
  /**
   * `direct` only: check signatures on libuv's thread pool rather than on the event loop
   * (`verificationConfiguration.offloadSignatures`). Default true.
   */
  offloadSignatures?: boolean;
}

export type VerifyCallback = (err: JwtGateError | null, principal?: Principal) => void;

/**
 * Token → principal for the gate, with one passport-jwt strategy per key source on a Passport
 * instance of our own (never the app's global one), exported for apps that use Passport.
 */
export class TokenVerifier {
  readonly passport = new Passport();
  /** Each key source's strategy, by source name (`self` or the JWKS URL). */
  readonly strategies: ReadonlyMap<string, SourceStrategy>;
  readonly #sources: KeySources;
  readonly #rules: VerificationRules;
  readonly #inspectOptions: InspectOptions;
  readonly #cache: VerifiedTokenCache | null;
  /** Each source's strategy name on our Passport. */
  readonly #strategyNames = new Map<KeySource, string>();
  readonly #viaPassport: boolean;
  /** Set when signatures are checked on the thread pool (`offloadSignatures`). */
  readonly #offload: SignatureOffload | null;
  readonly #dpop: DpopBinding;

  constructor(
    sources: KeySources,
    rules: VerificationRules,
    cache: VerifiedTokenCache | null,
    options: TokenVerifierOptions = {},
  ) {
    this.#sources = sources;
    this.#rules = rules;
    this.#dpop = rules.dpop ?? new DpopBinding({ now: rules.now });
    this.#inspectOptions = { maxBytes: rules.maxTokenBytes };
    this.#cache = cache;
    this.#viaPassport = options.engine === 'passport';
    this.#offload = !this.#viaPassport && (options.offloadSignatures ?? true) ? new SignatureOffload() : null;
    const strategies = new Map<string, SourceStrategy>();
    sources.all.forEach((source, index) => {
      const name = source.kind === 'self' ? 'jwt-gate-self' : `jwt-gate-source-${index}`;
      const strategy = new SourceStrategy(source, rules.clockToleranceSeconds, (req, token, done) =>
        this.verify(req, undefined, token, done, source),
      );
      this.passport.use(name, strategy);
      this.#strategyNames.set(source, name);
      strategies.set(source.name, strategy);
      source.onKeysChanged((kids) => cache?.dropKey(source.name, kids));
    });
    this.strategies = strategies;
  }

  /** Drops cached verifications of a bot token (revoked or replaced). */
  forgetTokenId(jti: string): void {
    this.#cache?.dropTokenId(jti);
  }

  /**
   * Verifies `token`, sent with `req`, and calls `done` once with its principal or a typed error
   * (401/403/503 class). `done` is called synchronously when nothing has to wait.
   *
   * @param res Passed on to Passport when a strategy checks the signature; may be undefined.
   * @param strategySource Set when the request came in through that source's strategy (on an
   *   app's own Passport): only that source may judge the token, and the signature is checked by
   *   jsonwebtoken in its strategy, whatever the engine.
   */
  verify(
    req: Request,
    res: Response | undefined,
    token: string,
    done: VerifyCallback,
    strategySource?: KeySource,
  ): void {
    const rules = this.#rules;
    const cache = this.#cache;

    // 1. The cache. A token never verified before is not looked up, nor hashed.
    let cacheKey: string | null = null;
    if (cache !== null && cache.seen(token)) {
      cacheKey = VerifiedTokenCache.keyOf(token);
      const hit = cache.get(cacheKey, rules.now());
      if (hit !== undefined && (strategySource === undefined || hit.source === strategySource.name)) {
        // 8. A bot token's state is checked on every use: revocation is immediate. 9. Then DPoP.
        if (needsDpopCheck(hit, req)) this.#checkStateAndBinding(req, token, hit, done);
        else checkTokenState(hit, rules.bots, rules.now, done);
        return;
      }
    }

    let inspected: InspectedToken;
    let source: KeySource | undefined;
    try {
      // 2. Structural checks.
      inspected = inspectToken(token, this.#inspectOptions);
      // 3. The one source its `iss` names.
      const iss = inspected.payload.iss;
      source = typeof iss === 'string' ? this.#sources.byIssuer.get(iss) : undefined;
      if (source === undefined || (strategySource !== undefined && source !== strategySource)) {
        throw new InvalidTokenError(
          'ERR_TOKEN_ISSUER_UNKNOWN',
          'The token was not issued by an issuer this server trusts.',
        );
      }
      // 4. That source's rules: its algorithms, then the claims.
      if (!source.algorithms.includes(inspected.header.alg)) {
        throw new InvalidTokenError(
          'ERR_TOKEN_ALG_NOT_ALLOWED',
          `The token is signed with ${inspected.header.alg}, which is not accepted for its issuer (accepted: ${source.algorithms.join(', ')}).`,
        );
      }
      validateClaims(inspected.payload, {
        issuers: source.issuers,
        audiences: source.audiences,
        clockToleranceSeconds: rules.clockToleranceSeconds,
        requireExp: source.requireExp,
        now: Math.floor(rules.now() / 1000),
      });
    } catch (err) {
      done(tokenError(err));
      return;
    }

    // 5. The key, from this source only: from memory, else fetched under the source's limits.
    const { kid, alg } = inspected.header;
    let key: KeyObject | undefined;
    try {
      key = source.getKeySync(kid, alg);
    } catch (err) {
      done(keyError(err, source));
      return;
    }
    const verified: Verified = {
      req,
      res,
      token,
      cacheKey,
      inspected,
      source,
      throughStrategy: strategySource !== undefined,
      done,
    };
    if (key !== undefined) this.#checkSignature(verified, key);
    else
      verified.source.getKey(kid, alg).then(
        (fetched) => this.#checkSignature(verified, fetched),
        (err: unknown) => done(keyError(err, verified.source)),
      );
  }

  /** Step 6 of {@link verify}, once the key is known: the signature. */
  #checkSignature(v: Verified, key: KeyObject): void {
    const { header, signingInput, signature } = v.inspected;
    if (this.#viaPassport || v.throughStrategy) {
      const name = this.#strategyNames.get(v.source)!;
      checkSignatureWithStrategy(this.passport, name, v.req, v.res, v.token, key, (invalid) =>
        this.#resolvePrincipal(v, key, invalid),
      );
    } else if (this.#offload !== null) {
      this.#offload.verify(header.alg, signingInput, signature, key, (valid) =>
        this.#resolvePrincipal(v, key, valid ? null : signatureInvalid()),
      );
    } else {
      const valid = verifySignature(header.alg, signingInput, signature, key);
      this.#resolvePrincipal(v, key, valid ? null : signatureInvalid());
    }
  }

  /** Steps 7 and 8 of {@link verify}, once step 6 has judged the signature (`invalid`: why not). */
  #resolvePrincipal(v: Verified, key: KeyObject, invalid: JwtGateError | null): void {
    if (invalid !== null) {
      v.done(invalid);
      return;
    }
    // 7. The principal, as far as this source's tokens are believed.
    const { source } = v;
    const trust: TokenTrust =
      source.kind === 'self' ? 'self' : source.trustBotClaims === true ? 'peer' : 'external';
    const resolve = (): Principal =>
      this.#rules.policy.resolve(
        v.inspected.payload,
        source.name,
        trust,
        source.scopes ?? DEFAULT_SCOPE_RULE,
      );
    let principal: Principal;
    try {
      principal = resolve();
    } catch (err) {
      v.done(tokenError(err));
      return;
    }
    // A peer's personal access tokens are revocable where they were minted, in a state our store
    // does not hold: accepting them would be accepting tokens nobody here can revoke.
    if (trust === 'peer' && principal.tokenType === 'PERSONAL_ACCESS') {
      v.done(
        new InvalidTokenError(
          'ERR_TOKEN_REVOKED',
          "Personal access tokens are accepted only by the server that issued them; this one's state cannot be checked here.",
        ),
      );
      return;
    }

    // 8. The token state. A token that passes is remembered, tied to the key that verified it,
    // from its second verification on (one that is never sent again costs the cache nothing).
    let waited = false;
    checkTokenState(principal, this.#rules.bots, this.#rules.now, (err, current) => {
      // The bot was re-read while this token waited (it is newer than this instance knew): its
      // allowed scopes may have changed with it, so the principal is resolved again.
      if (err === null && waited && principal.tokenType === 'BOT') {
        try {
          principal = resolve();
        } catch (resolveError) {
          v.done(tokenError(resolveError));
          return;
        }
      }
      const cache = this.#cache;
      if (err === null && cache?.admit(v.token)) {
        const { kid, alg } = v.inspected.header;
        cache.set(v.cacheKey ?? VerifiedTokenCache.keyOf(v.token), principal, source, kid, alg, key);
      }
      if (err === null && needsDpopCheck(principal, v.req))
        this.#checkBinding(v.req, v.token, principal, v.done);
      else v.done(err, err === null ? principal : current);
    });
    waited = true;
  }

  /** Steps 8 and 9 for a cached verification. */
  #checkStateAndBinding(req: Request, token: string, principal: Principal, done: VerifyCallback): void {
    checkTokenState(principal, this.#rules.bots, this.#rules.now, (err, current) => {
      if (err === null && current !== undefined) this.#checkBinding(req, token, current, done);
      else done(err, current);
    });
  }

  /** Step 9: the DPoP binding of a verified, current token. */
  #checkBinding(req: Request, token: string, principal: Principal, done: VerifyCallback): void {
    this.#dpop.check(req, token, principal, (err) => {
      if (err === null) done(null, principal);
      else done(err);
    });
  }
}

/** What steps 6 to 8 need of a token that passed steps 1 to 5. */
interface Verified {
  readonly req: Request;
  readonly res: Response | undefined;
  readonly token: string;
  /** Computed in step 1 when the token had been seen before. */
  readonly cacheKey: string | null;
  readonly inspected: InspectedToken;
  readonly source: KeySource;
  readonly throughStrategy: boolean;
  readonly done: VerifyCallback;
}

function signatureInvalid(): InvalidTokenError {
  return new InvalidTokenError('ERR_TOKEN_SIGNATURE_INVALID', 'The token signature is not valid.');
}

/** Our typed errors pass through; anything else is a token that could not be verified. */
function tokenError(err: unknown): JwtGateError {
  if (err instanceof JwtGateError) return err;
  return new InvalidTokenError('ERR_TOKEN_SIGNATURE_INVALID', 'The token signature is not valid.', {
    cause: err,
  });
}

/**
 * A key lookup's failure as the client sees it. Failures of remote sources reach the client in
 * general words: the source's URL and the upstream error stay in `cause` and in the health view,
 * not in a 401/503 body.
 */
function keyError(err: unknown, source: KeySource): JwtGateError {
  const error = tokenError(err);
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
