import type { RequestHandler } from 'express';
import { ChallengeError, InvalidTokenError, MissingTokenError } from '../../errors.js';
import type { DpopBinding } from '../../verify/dpop-binding.js';
import { extractBearerToken, sentWithDpopScheme } from '../../verify/extract-token.js';
import type { Principal } from '../../verify/principal.js';
import type { TokenVerifier } from '../../verify/verify-token.js';
import { reshapeRequest } from './reshape-request.js';

export interface AuthenticateOptions {
  verifier: TokenVerifier;
  /** True for the few public routes (exact match on the normalised path, GET/HEAD). */
  isPublic: (req: Parameters<RequestHandler>[0]) => boolean;
  /** Their handlers by full path: a public path is answered here, never passed on unauthenticated. */
  publicHandlers: ReadonlyMap<string, RequestHandler>;
  realm: string;
  /**
   * The RFC 9728 metadata URL every challenge names (`resource_metadata`); absent when no resource
   * identifier is configured.
   */
  resourceMetadata?: string;
  /** `provider: no-auth` (development only): requests without a token get this principal. */
  anonymous: Principal | null;
  /**
   * The verifier's DPoP check: its algorithms are advertised next to the Bearer challenge of a
   * request without credentials (RFC 9449 §7.1), and, with nonces, each DPoP request's response
   * carries the current `DPoP-Nonce` (§8.2), so clients rarely meet `use_dpop_nonce`.
   */
  dpop?: DpopBinding;
}

/**
 * The authentication middleware: the data path of a request, top to bottom.
 * public route? (answered here) → extract the token (`Bearer`, RFC 6750, or `DPoP`, RFC 9449) → verify (`TokenVerifier.verify`
 * in lib/verify/verify-token.ts) → `req.user` → next. Failures go to `next(err)` as typed errors
 * carrying status, code and `WWW-Authenticate`.
 */
export function createAuthenticate(options: AuthenticateOptions): RequestHandler {
  const { verifier, isPublic, publicHandlers, realm, resourceMetadata, anonymous, dpop } = options;
  const nonces = dpop?.nonces ?? null;

  return function jwtGateAuthenticate(req, res, next) {
    // First, so that our reads of the request are cheap too, not only the `user` we add.
    reshapeRequest(req);
    if (isPublic(req)) {
      // Answered by jwt-gate's own public handler, so whatever the app routes at these paths
      // (or wherever it mounted the public router) is never reached without a token.
      const serve = publicHandlers.get(pathOf(req.originalUrl));
      if (serve !== undefined) {
        serve(req, res, next);
        return;
      }
    }
    let token: string | undefined;
    try {
      token = extractBearerToken(req);
    } catch (err) {
      next(withRealm(err, realm, resourceMetadata));
      return;
    }
    if (token === undefined) {
      if (anonymous !== null) {
        req.user = anonymous;
        next();
      } else {
        const missing = new MissingTokenError();
        if (dpop !== undefined) missing.setDpopChallenge(dpop.algorithms);
        next(missing.setRealm(realm, resourceMetadata));
      }
      return;
    }
    if (nonces !== null && sentWithDpopScheme(req)) res.setHeader('DPoP-Nonce', nonces.current());
    verifier.verify(req, res, token, (err, principal) => {
      if (err) next(withRealm(err, realm, resourceMetadata));
      else if (principal === undefined) {
        // Never let a request through without a principal, whatever went wrong above.
        next(
          new InvalidTokenError('ERR_TOKEN_MALFORMED', 'The token could not be verified.').setRealm(
            realm,
            resourceMetadata,
          ),
        );
      } else {
        req.user = principal;
        next();
      }
    });
  };
}

function withRealm(err: unknown, realm: string, resourceMetadata: string | undefined): unknown {
  return err instanceof ChallengeError ? err.setRealm(realm, resourceMetadata) : err;
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
