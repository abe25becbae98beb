/**
 * jwt-gate's public API. Everything users import is listed here, explicitly.
 */

// The gate: middleware, guards, companion routers, minting.
export { createJwtGate } from './gate.js';
export type { JwtGate, JwtGateDependencies } from './gate.js';

// Configuration.
export { loadConfig } from './config/load-config.js';
export type { ConfigSource } from './config/load-config.js';
export { resolveOptions } from './config/resolve-options.js';
export type {
  AdditionalPublicKey,
  AirflowConfiguration,
  AsymmetricAlgorithm,
  AuthenticationConfiguration,
  AuthorizerConfiguration,
  DatabaseConfiguration,
  JwksFetchConfiguration,
  JwtGateOptions,
  JwtTokenConfiguration,
  PublicKeySourceEntry,
  ResolvedConfig,
  RsaAlgorithm,
  ServerConfiguration,
  TokenType,
  VerificationConfiguration,
} from './config/types.js';

// Keys.
export {
  loadKeySet,
  publicJwk,
  publicJwks,
  jwkThumbprint,
  generateKeyFiles,
  KEY_FILE_NAMES,
} from './keys/index.js';
export type { KeySet, PublishedKey, SigningKey, RsaPublicJwk, GeneratedKeyFiles } from './keys/index.js';

// Tokens.
export { mintToken } from './tokens/mint-token.js';
export type { MintClaims, MintIssuer, MintedToken, TokenResponse } from './tokens/mint-token.js';
export { EXPIRY_CHOICES, parseExpiry, expirySeconds } from './tokens/expiry.js';
export type { ExpiryChoice } from './tokens/expiry.js';

// Verification building blocks.
export type { Principal } from './verify/principal.js';
export type { KeySource, KeySourceHealth } from './verify/key-source.js';
export type { BotTokenGuard, BotTokenState } from './verify/bot-token-guard.js';
export { createSourceStrategy } from './verify/source-strategy.js';
export type { StrategyContext } from './verify/source-strategy.js';
export { RemoteJwksSource } from './verify/jwks/index.js';
export { extractBearerToken } from './verify/extract-token.js';
export { inspectToken } from './verify/inspect-token.js';
export type { InspectedToken } from './verify/inspect-token.js';

// HTTP: routers, guards, errors.
export { createJwksRouter, JWKS_PATHS } from './http/jwks-router.js';
export { createAuthConfigRouter, AUTH_CONFIG_PATH } from './http/auth-config-router.js';
export { createHealthRouter, HEALTH_PATH } from './http/health-router.js';
export type { HealthReport } from './http/health-router.js';
export { createErrorHandler } from './http/error-handler.js';
export { requireAdmin, requireClaims, requirePrincipal } from './http/guards.js';
export { createBotsRouter } from './http/bots-router.js';
export type { BotsRouterOptions } from './http/bots-router.js';
export { createBotsPageRouter } from './http/bots-page/index.js';
export type { BotsPageOptions } from './http/bots-page/index.js';

// Bots.
export { BotService, DEFAULT_BOTS } from './bots/bot-service.js';
export type { BotTokenMetadata, BotView, NewBot } from './bots/bot-service.js';
export { BotRegistry } from './bots/bot-registry.js';
export { BOT_NAME_PATTERN } from './bots/bot-name.js';

// Store.
export { openStore } from './store/open-store.js';
export type { BotRecord, BotStore, BotTokenRecord, AuditEntry, StoreChange } from './store/types.js';

// Ingestion-side and pipeline-service clients.
export {
  loadWorkflowConfig,
  createIngestionClient,
  runIngestion,
  createPipelineServiceClient,
} from './client/index.js';
export type { WorkflowServerConfig } from './client/index.js';
export { IngestionAuthError, IngestionRequestError, PipelineServiceError } from './client/index.js';

// Errors.
export {
  ApiError,
  BearerError,
  ConfigError,
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
export type { BearerErrorCode, JwtGateErrorCode } from './errors.js';
