/**
 * The field, measured in the same run as jwt-gate: the same route behind each peer library, wired
 * the way its README wires it, verifying the bench SSO's RS256 tokens against the bench JWKS
 * server. Every peer gets one hot token and 10,000 distinct ones, like `sso` and `sso-distinct`.
 */
import { createPublicKey } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { expressjwt } from 'express-jwt';
import { auth as oauth2JwtBearer } from 'express-oauth2-jwt-bearer';
import { createVerifier } from 'fast-jwt';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import jwksRsa from 'jwks-rsa';
import { Passport } from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';

/** The peer libraries, by scenario name (`peer-<name>` and `peer-<name>-distinct`). */
export const PEERS = {
  'passport-jwt': 'passport + passport-jwt + jwks-rsa passportJwtSecret (cache and rate limit on)',
  'express-jwt': 'express-jwt + jwks-rsa expressJwtSecret (cache and rate limit on)',
  'oauth2-bearer': 'express-oauth2-jwt-bearer auth({ issuer, audience, jwksUri })',
  jose: 'jose createRemoteJWKSet + jwtVerify',
  'fast-jwt': 'fast-jwt createVerifier, key fetched once at start-up',
  'fast-jwt-cache': 'fast-jwt createVerifier with its result cache (cache: true), key fetched once',
} as const;

export type PeerName = keyof typeof PEERS;

export interface PeerSource {
  jwksUri: string;
  issuer: string;
  audience: string;
}

/** Bare Express's route behind `peer`; failures answer 401 (counted as non-200 by the bench). */
export async function buildPeerApp(
  peer: PeerName,
  source: PeerSource,
  route: RequestHandler,
): Promise<Express> {
  const app = express();
  app.use(await peerMiddleware(peer, source));
  app.get('/api/v1/tables', route);
  app.use(unauthorized);
  return app;
}

const unauthorized: ErrorRequestHandler = (_err, _req, res, _next) => {
  res.status(401).json({ error: 'unauthorized' });
};

async function peerMiddleware(
  peer: PeerName,
  { jwksUri, issuer, audience }: PeerSource,
): Promise<RequestHandler> {
  const jwksOptions = { jwksUri, cache: true, rateLimit: true, jwksRequestsPerMinute: 5 };
  switch (peer) {
    case 'passport-jwt': {
      const passport = new Passport();
      passport.use(
        new JwtStrategy(
          {
            secretOrKeyProvider: jwksRsa.passportJwtSecret(jwksOptions),
            jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
            issuer,
            audience,
            algorithms: ['RS256'],
          },
          (payload: unknown, done: (err: unknown, user?: unknown) => void) => done(null, payload),
        ),
      );
      const authenticate = passport.authenticate('jwt', { session: false }) as RequestHandler;
      return authenticate;
    }
    case 'express-jwt':
      return expressjwt({
        secret: jwksRsa.expressJwtSecret(jwksOptions) as never,
        issuer,
        audience,
        algorithms: ['RS256'],
      });
    case 'oauth2-bearer':
      return oauth2JwtBearer({ issuer, audience, jwksUri, tokenSigningAlg: 'RS256' });
    case 'jose': {
      const jwks = createRemoteJWKSet(new URL(jwksUri));
      return (req, _res, next) => {
        const token = req.headers.authorization?.replace(/^Bearer /i, '') ?? '';
        jwtVerify(token, jwks, { issuer, audience, algorithms: ['RS256'] }).then(({ payload }) => {
          (req as { auth?: unknown }).auth = payload;
          next();
        }, next);
      };
    }
    case 'fast-jwt':
    case 'fast-jwt-cache': {
      // "Key resolved once": the PEM of the JWKS's key, fetched at start-up.
      const { keys } = (await (await fetch(jwksUri)).json()) as { keys: Record<string, string>[] };
      const key = createPublicKey({ key: keys[0]!, format: 'jwk' }).export({ format: 'pem', type: 'spki' });
      const verify = createVerifier({
        key: key.toString(),
        algorithms: ['RS256'],
        allowedIss: issuer,
        allowedAud: audience,
        cache: peer === 'fast-jwt-cache',
      });
      return (req, _res, next) => {
        try {
          (req as { auth?: unknown }).auth = verify(
            req.headers.authorization?.replace(/^Bearer /i, '') ?? '',
          );
          next();
        } catch (err) {
          next(err);
        }
      };
    }
  }
}
