/**
 * jwt-gate's main entry: the gate, its guards, its errors, the principal and the option types.
 * Everything else has its own entry, so an app loads only what it uses:
 *
 * - `jwt-gate/config` — the OpenMetadata-style YAML (`loadConfig`) and `resolveOptions`;
 * - `jwt-gate/keys` — load, generate and publish RSA keys;
 * - `jwt-gate/tokens` — mint tokens outside a gate, the expiry choices;
 * - `jwt-gate/stores` — the bot stores behind `database.url`;
 * - `jwt-gate/client` — the ingestion-side and pipeline-service clients;
 * - `jwt-gate/bots-page` — the Settings → Bots page.
 */

// The gate: middleware, guards, companion routers, minting.
export { createJwtGate } from './gate.js';
export type { JwtGate, JwtGateDependencies, PassportStrategy } from './gate.js';
export {
  requireAdmin,
  requireAnyScope,
  requireClaims,
  requirePrincipal,
  requireScopes,
} from './http/middleware/guards.js';
export type { ScopeGuardOptions } from './http/middleware/guards.js';
export type { HealthReport } from './http/routes/health-router.js';

// Who made the request (`req.user`).
export type { Principal } from './verify/principal.js';
export type { KeySourceHealth } from './verify/key-source.js';
export type { BotTokenGuard, BotTokenState } from './verify/bot-token-guard.js';

// Bots and personal access tokens, as `gate.bots` and `gate.personalTokens` offer them.
export type { BotService, BotTokenMetadata, BotView, NewBot } from './bots/bot-service.js';
export type {
  GeneratedPersonalToken,
  PersonalTokenService,
  PersonalTokenView,
} from './bots/personal-token-service.js';
export type { MintClaims, MintedToken, TokenResponse } from './tokens/mint-token.js';
export type { ExpiryChoice } from './tokens/expiry.js';

// Options.
export type {
  AdditionalPublicKey,
  AirflowConfiguration,
  AsymmetricAlgorithm,
  AuthenticationConfiguration,
  AuthorizerConfiguration,
  BotConfiguration,
  DatabaseConfiguration,
  DpopConfiguration,
  HealthConfiguration,
  JwksFetchConfiguration,
  JwtGateOptions,
  JwtTokenConfiguration,
  PersonalTokenConfiguration,
  ProtectedResourceConfiguration,
  PublicKeySourceEntry,
  ResolvedConfig,
  RsaAlgorithm,
  ServerConfiguration,
  TokenType,
  VerificationConfiguration,
} from './config/types.js';

// Errors.
export {
  ApiError,
  BearerError,
  ChallengeError,
  ConfigError,
  DpopProofError,
  HttpError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  JwtGateError,
  MissingTokenError,
  ServiceUnavailableError,
  badRequest,
  conflict,
  notFound,
} from './errors.js';
export type { BearerErrorCode, DpopErrorCode, JwtGateErrorCode } from './errors.js';
