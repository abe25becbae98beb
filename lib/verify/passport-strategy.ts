/**
 * Each key source's passport-jwt strategy: a thin adapter over `TokenVerifier.verify`, whose
 * signature step (6) it takes — jsonwebtoken checks the signature with the key the verifier chose,
 * under the source's algorithms, issuers, audiences and clock tolerance. Everything else (the
 * structural checks, the source, its claim checks, the key, the principal, the bot-token state)
 * is the verifier's, so the `direct` and `passport` engines share every rule.
 */
import type { KeyObject } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Passport } from 'passport';
import { Strategy as JwtStrategy } from 'passport-jwt';
import {
  HttpError,
  InvalidTokenError,
  JwtGateError,
  MissingTokenError,
  ServiceUnavailableError,
} from '../errors.js';
import { extractBearerToken } from './extract-token.js';
import type { KeySource } from './key-source.js';
import type { Principal } from './principal.js';

/** Where the verifier leaves the token and its key for the strategy, during step 6 only. */
const SIGNATURE_STEP = Symbol('jwt-gate.signature-step');

interface SignatureStep {
  readonly token: string;
  readonly key: KeyObject;
}

interface RequestAtSignatureStep extends Request {
  [SIGNATURE_STEP]?: SignatureStep;
}

/** The verifier's whole path for one source: `TokenVerifier.verify` bound to it. */
export type VerifyForSource = (
  req: Request,
  token: string,
  done: (err: JwtGateError | null, principal?: Principal) => void,
) => void;

type JwtStrategyAlgorithms = NonNullable<ConstructorParameters<typeof JwtStrategy>[0]['algorithms']>;

/**
 * The passport-jwt strategy of one key source. It works two ways:
 *
 * - within the gate's verification (step 6, `engine: passport`): the verifier sends the request
 *   through it on jwt-gate's own Passport, and jsonwebtoken checks the signature;
 * - on an app's own Passport (`passport.use(name, strategy)`): it extracts the bearer token and
 *   runs the verifier's whole path for its source, which comes back here for the signature. The
 *   principal becomes `req.user`; a 503 (keys or bot store unavailable) is an `error`, any other
 *   refusal a `fail` with the jwt-gate error as its challenge and its status.
 */
export class SourceStrategy extends JwtStrategy {
  // Not #private: Passport runs each request on an `Object.create(strategy)`, which has no
  // private slots.
  private readonly verifyForSource: VerifyForSource;

  constructor(source: KeySource, clockToleranceSeconds: number, verify: VerifyForSource) {
    super(
      {
        jwtFromRequest: (req) => (req as RequestAtSignatureStep)[SIGNATURE_STEP]?.token ?? null,
        secretOrKeyProvider(req: RequestAtSignatureStep, _token: string, giveKey) {
          // jsonwebtoken takes a KeyObject (parsed once per key); the typings only list string/Buffer.
          giveKey(null, req[SIGNATURE_STEP]?.key as unknown as Buffer);
        },
        algorithms: [...source.algorithms] as JwtStrategyAlgorithms,
        issuer: [...source.issuers],
        ...(source.audiences ? { audience: [...source.audiences] } : {}),
        jsonWebTokenOptions: { clockTolerance: clockToleranceSeconds },
      },
      (payload: unknown, verified: (err: unknown, user?: unknown) => void) => verified(null, payload),
    );
    this.verifyForSource = verify;
  }

  override authenticate(req: Request, options?: unknown): void {
    if ((req as RequestAtSignatureStep)[SIGNATURE_STEP] !== undefined) {
      // Step 6 of the verifier's path: jsonwebtoken checks the signature.
      super.authenticate(req, options);
      return;
    }
    // On an app's own Passport: the verifier's whole path, for this source.
    let token: string | undefined;
    try {
      token = extractBearerToken(req);
    } catch (err) {
      this.refuse(err);
      return;
    }
    if (token === undefined) {
      this.refuse(new MissingTokenError());
      return;
    }
    this.verifyForSource(req, token, (err, principal) => {
      if (err === null && principal !== undefined) this.success(principal);
      else
        this.refuse(err ?? new InvalidTokenError('ERR_TOKEN_MALFORMED', 'The token could not be verified.'));
    });
  }

  private refuse(err: unknown): void {
    if (err instanceof ServiceUnavailableError) this.error(err);
    else this.fail(err, err instanceof HttpError ? err.status : 401);
  }
}

/**
 * Step 6 through a source's strategy: sends the request through `strategyName` on `passport`,
 * where jsonwebtoken checks `token` with `key`; `judged` gets null when it verifies, else the
 * error a client sees.
 */
export function checkSignatureWithStrategy(
  passport: InstanceType<typeof Passport>,
  strategyName: string,
  req: Request,
  res: Response | undefined,
  token: string,
  key: KeyObject,
  judged: (invalid: JwtGateError | null) => void,
): void {
  const request = req as RequestAtSignatureStep;
  request[SIGNATURE_STEP] = { token, key };
  const answered = (err: unknown, payload?: unknown, info?: unknown): void => {
    delete request[SIGNATURE_STEP];
    judged(err || !payload ? fromJsonwebtoken(err ?? info) : null);
  };
  const authenticate = passport.authenticate(strategyName, { session: false }, answered) as (
    req: Request,
    res: Response | undefined,
    next: NextFunction,
  ) => void;
  authenticate(req, res, answered);
}

/**
 * jsonwebtoken's failures, in words a client can act on (never its class names or messages).
 * jsonwebtoken tells them apart only by class name and message text.
 */
function fromJsonwebtoken(err: unknown): JwtGateError {
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
