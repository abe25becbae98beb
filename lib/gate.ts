import type { ErrorRequestHandler, Request, RequestHandler, Router } from 'express';
import type { JwtGateOptions, ResolvedConfig } from './config/types.js';
import { resolveOptions } from './config/resolve-options.js';
import { BotRegistry } from './bots/bot-registry.js';
import { BotService } from './bots/bot-service.js';
import { PersonalTokenService } from './bots/personal-token-service.js';
import { ConfigError } from './errors.js';
import { createAuthenticate } from './http/middleware/authenticate.js';
import { createErrorHandler } from './http/middleware/error-handler.js';
import { requireAdmin } from './http/middleware/guards.js';
import { createPublicPathMatcher } from './http/middleware/public-paths.js';
import { authConfigRoute, AUTH_CONFIG_PATH } from './http/routes/auth-config-router.js';
import { createBotsRouter } from './http/routes/bots-router.js';
import { createPersonalTokensRouter } from './http/routes/personal-tokens-router.js';
import { healthRoute, HEALTH_PATH, type HealthReport } from './http/routes/health-router.js';
import { jwksRoute } from './http/routes/jwks-router.js';
import { gateProtectedResource } from './http/routes/protected-resource-router.js';
import { publicRouteHandlers, servePublicRoutes } from './http/routes/public-routes.js';
import { JWKS_PATHS } from './keys/jwks-paths.js';
import type { KeySet } from './keys/key-set.js';
import { loadKeySet } from './keys/load-key-set.js';
import { openStore } from './store/open-store.js';
import type { BotStore } from './store/types.js';
import type { DpopAlgorithm } from './dpop/verify-proof.js';
import { mintToken, type MintClaims, type MintedToken } from './tokens/mint-token.js';
import { NO_BOTS, type BotTokenGuard } from './verify/bot-token-guard.js';
import { buildKeySources } from './verify/build-key-sources.js';
import { DpopBinding } from './verify/dpop-binding.js';
import type { Principal } from './verify/principal.js';
import { createPrincipalPolicy } from './verify/resolve-principal.js';
import { TokenVerifier } from './verify/verify-token.js';
import { VerifiedTokenCache } from './verify/verified-token-cache.js';

/** Things a gate may be handed instead of building them (tests, custom stores). */
export interface JwtGateDependencies {
  /** Injected clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Already-loaded keys (skips `jwtTokenConfiguration` key loading). */
  keySet?: KeySet;
  /** Bot-token state check. Default: the gate's bot registry, kept current from the store. */
  bots?: BotTokenGuard;
  /**
   * The bot store (the gate calls `init()`; an already initialised one is fine). A store given
   * here is not closed by `gate.close()`. Default: `openStore(config.database.url)`, opened only
   * when the gate has keys or trusts a peer's bot tokens.
   */
  store?: BotStore;
  /** Where the companion routers are mounted, for exact public-path matching. Default `''`. */
  basePath?: string;
  /** Skip the JWKS prefetch at start (tests). Default false. */
  skipPrefetch?: boolean;
}

/**
 * What `passport.use(name, strategy)` takes: jwt-gate's strategies are passport-jwt strategies,
 * typed here without passport's own types so that apps that do not use Passport need none.
 */
export interface PassportStrategy {
  name?: string;
  authenticate(req: Request, options?: unknown): void;
}

/** A configured jwt-gate: the middleware, guards, companion routers and token minting. */
export interface JwtGate {
  /**
   * The resolved configuration, without its secrets: no inline private key (`rsaprivateKey`), and
   * `healthConfiguration.detailsToken` and `dpopConfiguration.nonceSecret` read `''`.
   */
  readonly config: ResolvedConfig;
  /** Whether the gate has its own keys: it mints bot tokens and publishes them in its JWKS. */
  readonly hasKeys: boolean;
  /**
   * One passport-jwt strategy per key source (keyed by source name: `self` or the JWKS URL), for
   * apps that register them on their own Passport: `for (const [n, s] of gate.strategies)
   * passport.use(n, s)`. jwt-gate itself uses a Passport instance of its own.
   */
  readonly strategies: ReadonlyMap<string, PassportStrategy>;
  /** `app.use(gate.authenticate)`: verifies the bearer token and sets `req.user`. */
  readonly authenticate: RequestHandler;
  /** Admins only (people listed in `adminPrincipals`; never bots). */
  readonly requireAdmin: RequestHandler;
  /** Renders jwt-gate errors as `{code, message}` JSON with their headers; mount after routes. */
  readonly errorHandler: ErrorRequestHandler;
  /**
   * The public routes alone — JWKS (both paths), public auth config, health, and the RFC 9728
   * metadata when `protectedResourceConfiguration.resource` is set (answered only when mounted at
   * the root) — for apps that mount `authenticate` on part of their routes only. `authenticate`
   * answers them itself.
   */
  readonly publicRouter: RequestHandler;
  /**
   * Bot lifecycle: bots, minting and revoking their tokens (for your own admin code).
   * @throws ConfigError when the gate has no keys (bot tokens are signed with them).
   */
  readonly bots: BotService;
  /**
   * The bot API, admins only; mount after `authenticate`.
   * @throws ConfigError when the gate has no keys.
   */
  readonly botsRouter: Router;
  /**
   * People's personal access tokens: mint, list, revoke (for your own code).
   * @throws ConfigError when the gate has no keys (the tokens are signed with them).
   */
  readonly personalTokens: PersonalTokenService;
  /**
   * The personal access token API (`/api/v1/users/security/token`), for every signed-in person;
   * mount after `authenticate`.
   * @throws ConfigError when the gate has no keys.
   */
  readonly personalTokensRouter: Router;
  /**
   * Signs a token with the active key (RS256 by default).
   * @throws ConfigError when the gate has no keys.
   */
  mintToken(claims: MintClaims, nowMs?: number): MintedToken;
  /** The full health report (key sources, store); the public route shows others its status only. */
  health(): HealthReport;
  /** Writes buffered bot-token uses, stops timers and closes the store the gate opened. */
  close(): Promise<void>;
}

/**
 * Builds a gate: validates the configuration and builds one key source per `publicKeyUrls`
 * entry. With keys (`jwtTokenConfiguration.rsaprivateKey` or `rsaprivateKeyFilePath`) it also
 * loads them, opens the bot store, creates `botConfiguration.defaultBots` on the first start,
 * and warms the bot-token registry; without keys it verifies SSO tokens only, and needs no store
 * and no file. Prefetches remote JWKS. Throws `ConfigError` naming the field on any problem (503
 * `ERR_STORE_UNAVAILABLE` when the store cannot be reached) — it never returns a half-configured
 * gate.
 */
export async function createJwtGate(
  input: JwtGateOptions | ResolvedConfig,
  deps: JwtGateDependencies = {},
): Promise<JwtGate> {
  const config = 'provenance' in input ? input : resolveOptions(input);
  const now = deps.now ?? Date.now;
  const production = process.env.NODE_ENV === 'production';
  const auth = config.authenticationConfiguration;
  const verification = config.verificationConfiguration;
  const jwt = config.jwtTokenConfiguration;
  const keySet =
    deps.keySet ??
    (jwt.rsaprivateKey || jwt.rsaprivateKeyFilePath
      ? loadKeySet(jwt, { baseDir: config.baseDir, provenance: config.provenance })
      : null);

  const noAuth = auth.provider === 'no-auth';
  if (noAuth && production) {
    throw new ConfigError(
      'authenticationConfiguration.provider (AUTHENTICATION_PROVIDER) is "no-auth", which lets anyone in; it is refused when NODE_ENV=production. Configure your SSO provider.',
    );
  }
  if (noAuth) {
    console.warn(
      'jwt-gate: WARNING provider is "no-auth": requests without a token are let in as "anonymous" (never an admin). Development only.',
    );
  }

  const sources = buildKeySources(noAuth ? withoutRemoteSources(config) : config, keySet, deps.now);
  if (sources.all.length === 0 && !noAuth) {
    throw new ConfigError(
      "authenticationConfiguration.publicKeyUrls (AUTHENTICATION_PUBLIC_KEYS) is empty and jwtTokenConfiguration has no keys: no token could ever be verified. List your SSO provider's JWKS URL, or configure rsaprivateKey / rsaprivateKeyFilePath for bot tokens.",
    );
  }
  const cache = verification.cache.enabled ? new VerifiedTokenCache(verification.cache.maxEntries) : null;
  // A store holds bot-token state: needed to mint them (our keys) or to check a peer's.
  const needsStore = keySet !== null || sources.all.some((s) => s.trustBotClaims === true);
  const store =
    deps.store ?? (needsStore ? openStore(config.database.url, { baseDir: config.baseDir }) : null);
  // A replaced or revoked bot token, or one whose bot's allowed scopes changed, leaves the
  // verified-token cache as soon as the registry knows.
  const registry =
    store === null
      ? null
      : new BotRegistry({
          store,
          onTokenRetired: (jti) => verifier.forgetTokenId(jti),
          onScopesChanged: (jti) => verifier.forgetTokenId(jti),
        });
  const botGuard = deps.bots ?? registry ?? NO_BOTS;
  // DPoP (RFC 9449): replays are claimed in the store, so a proof counts once across instances.
  const dpopConfig = config.dpopConfiguration;
  const dpop = new DpopBinding({
    algorithms: dpopConfig.algorithms as DpopAlgorithm[],
    proofMaxAgeSeconds: dpopConfig.proofMaxAgeSeconds,
    externalOrigin: dpopConfig.externalOrigin,
    trustedProxies: dpopConfig.trustedProxies,
    requireNonce: dpopConfig.requireNonce,
    nonceSecret: dpopConfig.nonceSecret,
    ...(store === null ? {} : { claimProof: (key, until, at) => store.claimDpopProof(key, until, at) }),
    now,
  });
  const verifier = new TokenVerifier(
    sources,
    {
      policy: createPrincipalPolicy(auth, config.authorizerConfiguration, botGuard),
      bots: botGuard,
      clockToleranceSeconds: verification.clockToleranceSeconds,
      maxTokenBytes: verification.maxTokenBytes,
      now,
      dpop,
    },
    cache,
    { engine: verification.engine, offloadSignatures: verification.offloadSignatures },
  );
  const signing = keySet?.signing;
  const mint =
    signing === undefined
      ? null
      : (claims: MintClaims, nowMs?: number): MintedToken =>
          mintToken({ issuer: jwt.jwtissuer, audience: jwt.audience, key: signing }, claims, nowMs ?? now());
  const bots =
    store === null || registry === null || mint === null
      ? null
      : new BotService({
          store,
          mintToken: mint,
          principalDomain: config.authorizerConfiguration.principalDomain,
          registry,
          now,
        });
  const personalTokens =
    store === null || registry === null || mint === null
      ? null
      : new PersonalTokenService({
          store,
          mintToken: mint,
          maxTokensPerUser: config.personalTokenConfiguration.maxTokensPerUser,
          registry,
          now,
        });
  const closeStore = async (): Promise<void> => {
    await registry?.close();
    if (deps.store === undefined) await store?.close();
  };
  try {
    await store?.init();
    await registry?.init();
    await bots?.ensureBots(config.botConfiguration.defaultBots, config.botConfiguration.defaultBotScopes);
  } catch (err) {
    for (const source of sources.all) source.close();
    await closeStore().catch(() => undefined);
    throw err;
  }
  if (!deps.skipPrefetch) await Promise.all(sources.all.map((s) => s.prefetch()));

  const basePath = (deps.basePath ?? '').replace(/\/+$/, '');
  // RFC 9728 metadata: only for a configured resource identifier, never derived from Host. Its
  // well-known paths are from the host root: basePath does not move them.
  const protectedResource = gateProtectedResource(
    config.protectedResourceConfiguration,
    sources.all,
    keySet === null ? [] : config.botConfiguration.defaultBotScopes,
    dpop.algorithms,
  );
  const resourceMetadata = protectedResource?.metadataUrl;
  const isPublic = createPublicPathMatcher([
    ...[...JWKS_PATHS, AUTH_CONFIG_PATH, HEALTH_PATH].map((p) => basePath + p),
    ...(protectedResource?.route.paths ?? []),
  ]);
  const realm = verification.realm;
  const health = (): HealthReport => {
    const list = sources.all.map((s) => s.health());
    const storeHealth =
      store === null || registry === null ? null : { kind: store.kind, healthy: registry.healthy };
    const ok = (storeHealth?.healthy ?? true) && list.every((s) => s.healthy);
    return { status: ok ? 'ok' : 'degraded', sources: list, store: storeHealth };
  };

  // One exact-path lookup, not three routers: it runs in front of every protected request.
  // Status only for everyone; the details for a verified admin or the operator token.
  const healthAccess = { verifier, detailsToken: config.healthConfiguration.detailsToken };
  const publicRoutes = [
    jwksRoute(keySet),
    authConfigRoute(auth, { dpopAlgorithms: dpop.algorithms }),
    healthRoute(health, healthAccess),
  ];
  if (protectedResource !== null) publicRoutes.push(protectedResource.route);
  const publicRouter = servePublicRoutes(publicRoutes);
  const botsRouter = bots === null ? null : createBotsRouter(bots, { realm });
  const personalTokensRouter =
    personalTokens === null ? null : createPersonalTokensRouter(personalTokens, { realm });

  return Object.freeze({
    config: withoutSecrets(config),
    hasKeys: keySet !== null,
    strategies: verifier.strategies,
    authenticate: createAuthenticate({
      verifier,
      isPublic,
      publicHandlers: publicRouteHandlers(publicRoutes, basePath),
      realm,
      resourceMetadata,
      anonymous: noAuth ? anonymousPrincipal(auth.defaultScopes) : null,
      dpop,
    }),
    requireAdmin: requireAdmin(realm),
    errorHandler: createErrorHandler({ resourceMetadata }),
    publicRouter,
    get bots(): BotService {
      return bots ?? noKeys('gate.bots');
    },
    get botsRouter(): Router {
      return botsRouter ?? noKeys('gate.botsRouter');
    },
    get personalTokens(): PersonalTokenService {
      return personalTokens ?? noKeys('gate.personalTokens');
    },
    get personalTokensRouter(): Router {
      return personalTokensRouter ?? noKeys('gate.personalTokensRouter');
    },
    mintToken(claims: MintClaims, nowMs?: number): MintedToken {
      return (mint ?? noKeys('gate.mintToken()'))(claims, nowMs);
    },
    health,
    async close() {
      for (const source of sources.all) source.close();
      await closeStore();
    },
  });
}

/** Bot tokens are signed with our own key: without one, their API is a start-up mistake. */
function noKeys(what: string): never {
  throw new ConfigError(
    `${what} needs this server's own keys, which sign bot tokens: set jwtTokenConfiguration.rsaprivateKey (RSA_PRIVATE_KEY) or rsaprivateKeyFilePath (RSA_PRIVATE_KEY_FILE_PATH), e.g. from \`npx jwt-gate keys generate\`. A gate without keys verifies SSO tokens only.`,
  );
}

/**
 * The configuration as the app may see it: no secret is kept on the gate — not the inline private
 * key, nor the health details token or the DPoP nonce secret (both shown as `''`, "not set").
 */
function withoutSecrets(config: ResolvedConfig): ResolvedConfig {
  const { rsaprivateKey: _secret, ...jwt } = config.jwtTokenConfiguration;
  return Object.freeze({
    ...config,
    jwtTokenConfiguration: jwt,
    healthConfiguration: { ...config.healthConfiguration, detailsToken: '' },
    dpopConfiguration: { ...config.dpopConfiguration, nonceSecret: '' },
  });
}

function withoutRemoteSources(config: ResolvedConfig): ResolvedConfig {
  return {
    ...config,
    authenticationConfiguration: { ...config.authenticationConfiguration, publicKeyUrls: [] },
  };
}

/**
 * `no-auth`'s caller: let through, but never an admin — so nobody can mint or revoke bot tokens
 * without signing in (a token minted then would outlive the switch to a real SSO). It holds the
 * SSO's `defaultScopes`, as a person signing in with an ID token would.
 */
function anonymousPrincipal(scopes: readonly string[]): Principal {
  return Object.freeze({
    name: 'anonymous',
    email: null,
    isBot: false,
    isAdmin: false,
    tokenType: null,
    issuer: '',
    subject: 'anonymous',
    source: 'no-auth',
    tokenId: null,
    scopes: Object.freeze([...scopes]),
    expiresAt: null,
    claims: Object.freeze(Object.create(null) as Record<string, unknown>),
  });
}
