// `jwt-gate/config`: the OpenMetadata-style YAML (with `${VAR:-default}` substitution) and the
// typed options object, both resolved to one validated configuration.
export { loadConfig } from './load-config.js';
export type { ConfigSource } from './load-config.js';
export { resolveOptions } from './resolve-options.js';
export type {
  AdditionalPublicKey,
  AirflowConfiguration,
  AsymmetricAlgorithm,
  AuthenticationConfiguration,
  AuthorizerConfiguration,
  BotConfiguration,
  PersonalTokenConfiguration,
  DpopConfiguration,
  DatabaseConfiguration,
  HealthConfiguration,
  JwksFetchConfiguration,
  JwtGateOptions,
  JwtTokenConfiguration,
  PublicKeySourceEntry,
  ResolvedConfig,
  RsaAlgorithm,
  ServerConfiguration,
  TokenType,
  VerificationConfiguration,
} from './types.js';
