/**
 * The one schema both `loadConfig()` (YAML) and `resolveOptions()` (typed object) parse through,
 * after defaults are filled in. Every block is strict: an unknown key is a mistake to report
 * (with "did you mean"), not something to ignore.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

import { BOT_NAME_PATTERN, BOT_NAME_RULE } from '../bots/bot-name.js';
import { anyText, flag, integer, list, optionalText, port, text } from './field-types.js';
import type { ResolvedConfig } from './types.js';
import { databaseUrlProblem, jwksUrlProblem, originProblem, resourceIdentifierProblem } from './url-rules.js';
import { ASYMMETRIC_ALGORITHMS, DPOP_ALGORITHMS, RSA_ALGORITHMS } from './algorithms.js';
import { scopeTokenProblem } from '../verify/scopes.js';

/** The configuration blocks, without the `provenance` and `baseDir` that loading adds. */
export type ConfigBlocks = Omit<ResolvedConfig, 'provenance' | 'baseDir'>;

const rsaAlgorithm = z.enum(RSA_ALGORITHMS, {
  error: 'must be RS256, RS384 or RS512, got {got}: jwt-gate signs its own tokens with an RSA key',
});

const asymmetricAlgorithm = z.enum(ASYMMETRIC_ALGORITHMS, {
  error:
    'must be an asymmetric algorithm (RS256/384/512, PS256/384/512, ES256/384/512), got {got}: ' +
    '`none` and HS* (shared secrets) are never accepted from a key source',
});

const jwksUrl = z.string().superRefine((url, context) => {
  const problem = jwksUrlProblem(url);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: url });
});

/** RFC 6749 §3.3 scope-tokens: `[tables:read, tables:write]`. */
const scopeList = list(
  z.string().superRefine((scope, context) => {
    const problem = scopeTokenProblem(scope);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: scope });
  }),
);

/** A claim name to read scopes from. */
const scopeClaim = z
  .string()
  .regex(/^[\x21-\x7e]*$/, { error: 'must be a claim name (printable ASCII, no spaces), got {got}' });

const oneOrMore = z.union([text(), z.array(text()).min(1, { error: 'must list at least one value' })]);

const keySourceEntry = z.strictObject({
  url: jwksUrl,
  issuer: oneOrMore,
  // Required: a source bound to no audience would accept tokens its IdP minted for any other app.
  audience: oneOrMore,
  algorithms: list(asymmetricAlgorithm, 'must list at least one algorithm, e.g. [RS256]').default(['RS256']),
  trustBotClaims: flag().optional(),
  defaultScopes: scopeList.optional(),
  scopeClaim: scopeClaim.min(1, { error: 'must not be empty (omit it for `scope`, then `scp`)' }).optional(),
});

const additionalPublicKey = z
  .strictObject({
    keyId: text(),
    publicKeyFilePath: optionalText(),
    publicKey: optionalText(),
    algorithm: rsaAlgorithm.optional(),
  })
  .superRefine((key, context) => {
    if ((key.publicKeyFilePath === undefined) === (key.publicKey === undefined)) {
      context.addIssue({
        code: 'custom',
        message:
          'must set exactly one of `publicKeyFilePath` (a DER or PEM file) or `publicKey` (PEM or base64)',
      });
    }
  });

const jwtTokenConfiguration = z
  .strictObject({
    rsapublicKeyFilePath: optionalText(),
    rsaprivateKeyFilePath: optionalText(),
    rsapublicKey: optionalText(),
    rsaprivateKey: optionalText(),
    jwtissuer: text(),
    keyId: text(),
    algorithm: rsaAlgorithm,
    audience: text(),
    additionalPublicKeys: z.array(additionalPublicKey),
  })
  .superRefine((block, context) => {
    const seen = new Set([block.keyId]);
    block.additionalPublicKeys.forEach((key, index) => {
      if (seen.has(key.keyId)) {
        context.addIssue({
          code: 'custom',
          path: ['additionalPublicKeys', index, 'keyId'],
          message: `repeats the key id "${key.keyId}": every published key needs its own \`kid\``,
        });
      }
      seen.add(key.keyId);
    });
  });

const principalClaimMapping = z
  .string()
  .regex(/^(username|email):\S+$/, { error: 'must be `username:<claim>` or `email:<claim>`, got {got}' });

const authenticationConfiguration = z.strictObject({
  provider: text(),
  providerName: anyText(),
  publicKeyUrls: list(z.union([jwksUrl, keySourceEntry])),
  authority: anyText(),
  clientId: anyText(),
  callbackUrl: anyText(),
  jwtPrincipalClaims: list(text(), 'must list at least one claim, e.g. [email,preferred_username,sub]'),
  defaultScopes: scopeList,
  scopeClaim,
  jwtPrincipalClaimsMapping: list(principalClaimMapping).superRefine((mapping, context) => {
    const has = (prefix: string): boolean => mapping.some((entry) => entry.startsWith(prefix));
    if (mapping.length > 0 && !(has('username:') && has('email:'))) {
      context.addIssue({
        code: 'custom',
        message: 'must map both `username:<claim>` and `email:<claim>` when it is set (or be empty)',
      });
    }
  }),
});

const authorizerConfiguration = z.strictObject({
  adminPrincipals: list(text()),
  principalDomain: anyText(),
  enforcePrincipalDomain: flag(),
});

// The reference's airflow block lists one auth config per provider; only `openmetadata` is used.
const otherAirflowAuth = z.looseObject({}).optional();
const airflowConfiguration = z.strictObject({
  apiEndpoint: anyText(),
  allowInsecureHttp: flag().optional(),
  metadataApiEndpoint: anyText(),
  authProvider: anyText(),
  authConfig: z.strictObject({
    openmetadata: z.strictObject({ jwtToken: anyText(), dpopKeyFilePath: anyText().optional() }),
    azure: otherAirflowAuth,
    google: otherAirflowAuth,
    okta: otherAirflowAuth,
    auth0: otherAirflowAuth,
    customOidc: otherAirflowAuth,
  }),
});

const server = z.strictObject({ port: port(), host: text() });

const database = z.strictObject({
  url: z.string().superRefine((url, context) => {
    const problem = databaseUrlProblem(url);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: url });
  }),
});

const DAY = 86_400;
const jwks = z
  .strictObject({
    timeoutMs: integer(1, 120_000, ' ms'),
    maxResponseBytes: integer(1024, 16 * 1024 * 1024, ' bytes'),
    maxKeys: integer(1, 1000),
    cooldownSeconds: integer(0, DAY, ' seconds'),
    minCacheSeconds: integer(0, 7 * DAY, ' seconds'),
    maxCacheSeconds: integer(0, 7 * DAY, ' seconds'),
    defaultCacheSeconds: integer(0, 7 * DAY, ' seconds'),
    staleIfErrorSeconds: integer(0, 7 * DAY, ' seconds'),
  })
  .superRefine((block, context) => {
    const { minCacheSeconds: min, maxCacheSeconds: max, defaultCacheSeconds: fallback } = block;
    if (min > max) {
      context.addIssue({
        code: 'custom',
        path: ['minCacheSeconds'],
        message: `must not exceed maxCacheSeconds (${max}), got ${min}`,
      });
    } else if (fallback < min || fallback > max) {
      context.addIssue({
        code: 'custom',
        path: ['defaultCacheSeconds'],
        message: `must lie between minCacheSeconds (${min}) and maxCacheSeconds (${max}), got ${fallback}`,
      });
    }
  });

const verificationConfiguration = z.strictObject({
  clockToleranceSeconds: integer(0, 3600, ' seconds'),
  maxTokenBytes: integer(256, 1024 * 1024, ' bytes'),
  cache: z.strictObject({ enabled: flag(), maxEntries: integer(1, 10_000_000) }),
  jwks,
  realm: text().regex(/^[\x20-\x7e]*$/, {
    error: 'must be printable ASCII (it is sent in WWW-Authenticate)',
  }),
  engine: z.enum(['direct', 'passport'], { error: 'must be "direct" or "passport"' }),
  offloadSignatures: flag(),
});

/** Shortest operator token accepted: 32 characters (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_HEALTH_TOKEN_LENGTH = 32;

/** RFC 6750 b64token: what can be sent as `Authorization: Bearer <token>`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const GENERATE_TOKEN = 'use a long random value (e.g. `openssl rand -hex 32`), or leave it empty for none';

const healthConfiguration = z.strictObject({
  // Never `{got}` in these messages: the value is a secret.
  detailsToken: anyText().superRefine((token, context) => {
    if (token === '') return;
    if (token.length < MIN_HEALTH_TOKEN_LENGTH) {
      context.addIssue({
        code: 'custom',
        message: `must be at least ${MIN_HEALTH_TOKEN_LENGTH} characters when set, got ${token.length}: ${GENERATE_TOKEN}`,
      });
    } else if (!B64TOKEN.test(token)) {
      context.addIssue({
        code: 'custom',
        message: `must hold only letters, digits and -._~+/ (it is sent as a Bearer token): ${GENERATE_TOKEN}`,
      });
    }
  }),
});

const botConfiguration = z.strictObject({
  defaultBots: list(
    z.string().regex(BOT_NAME_PATTERN, { error: `must be bot names (${BOT_NAME_RULE}), got {got}` }),
  ),
  defaultBotScopes: scopeList,
});

const personalTokenConfiguration = z.strictObject({
  maxTokensPerUser: integer(1, 1000),
});

/** Shortest DPoP nonce secret accepted: 32 characters. */
export const MIN_DPOP_NONCE_SECRET_LENGTH = 32;

const dpopConfiguration = z.strictObject({
  algorithms: list(
    z.enum(DPOP_ALGORITHMS, { error: `must be among ${DPOP_ALGORITHMS.join(', ')}, got {got}` }),
    'must list at least one algorithm',
  ),
  proofMaxAgeSeconds: integer(1, 3600, ' seconds'),
  externalOrigin: anyText().superRefine((origin, context) => {
    const problem = originProblem(origin);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: origin });
  }),
  trustedProxies: list(
    z
      .string()
      .refine((ip) => isIP(ip) !== 0, { error: 'must be IP addresses (no ranges, no names), got {got}' }),
  ),
  requireNonce: flag(),
  // Never `{got}` in this message: the value is a secret.
  nonceSecret: anyText().superRefine((secret, context) => {
    if (secret !== '' && secret.length < MIN_DPOP_NONCE_SECRET_LENGTH) {
      context.addIssue({
        code: 'custom',
        message: `must be at least ${MIN_DPOP_NONCE_SECRET_LENGTH} characters when set, got ${secret.length}: use a long random value (e.g. \`openssl rand -hex 32\`), or leave it empty for a random one per process`,
      });
    }
  }),
});

const protectedResourceConfiguration = z.strictObject({
  resource: anyText().superRefine((url, context) => {
    const problem = resourceIdentifierProblem(url);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: url });
  }),
  resourceName: anyText(),
  scopesSupported: scopeList,
});

export const configSchema = z.strictObject({
  jwtTokenConfiguration,
  authenticationConfiguration,
  authorizerConfiguration,
  airflowConfiguration,
  server,
  database,
  botConfiguration,
  personalTokenConfiguration,
  dpopConfiguration,
  verificationConfiguration,
  healthConfiguration,
  protectedResourceConfiguration,
});
