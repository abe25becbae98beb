/**
 * The resolved jwt-gate configuration: every block of the OpenMetadata-style YAML, with defaults
 * applied and values validated. `loadConfig()` (YAML) and `resolveOptions()` (typed object) both
 * produce this shape; everything else in jwt-gate reads only this.
 */

/** Signing algorithms jwt-gate mints with and accepts from its own keys. */
export type RsaAlgorithm = 'RS256' | 'RS384' | 'RS512';

/** Algorithms accepted from remote key sources (asymmetric only; never `none` or HS*). */
export type AsymmetricAlgorithm = RsaAlgorithm | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/** `tokenType` claim values of the reference. */
export type TokenType = 'BOT' | 'PERSONAL_ACCESS' | 'OM_USER';

/** A previous (or additional) public key still published in the JWKS and trusted for verification. */
export interface AdditionalPublicKey {
  /** `kid` of this key; must differ from every other configured key. */
  keyId: string;
  /** Path to an SPKI DER or PEM public key file. One of `publicKeyFilePath` / `publicKey`. */
  publicKeyFilePath?: string;
  /** The key itself: PEM text, or base64 of DER or PEM (e.g. from an environment variable). */
  publicKey?: string;
  /** Algorithm the key signed with. Default: the active `algorithm`. */
  algorithm?: RsaAlgorithm;
}

export interface JwtTokenConfiguration {
  /** Path to the public key (SPKI DER or PEM). Env `RSA_PUBLIC_KEY_FILE_PATH`. */
  rsapublicKeyFilePath?: string;
  /** Path to the private key (PKCS#8 DER, or PEM PKCS#1/PKCS#8). Env `RSA_PRIVATE_KEY_FILE_PATH`. */
  rsaprivateKeyFilePath?: string;
  /** Inline public key: PEM, or base64 of DER/PEM. Env `RSA_PUBLIC_KEY`. Overrides the file path. */
  rsapublicKey?: string;
  /** Inline private key: PEM, or base64 of DER/PEM. Env `RSA_PRIVATE_KEY`. Overrides the file path. */
  rsaprivateKey?: string;
  /** `iss` of every token we mint. Default `open-metadata.org`. Env `JWT_ISSUER`. */
  jwtissuer: string;
  /** `kid` of the active signing key. Must stay stable. Env `JWT_KEY_ID`. */
  keyId: string;
  /** Signing algorithm. Default `RS256`. Env `JWT_ALGORITHM`. */
  algorithm: RsaAlgorithm;
  /** `aud` of every token we mint and require on our own tokens. Default `jwt-gate`. Env `JWT_AUDIENCE`. */
  audience: string;
  /** Older public keys still published and trusted, for rotation. Default `[]`. */
  additionalPublicKeys: AdditionalPublicKey[];
}

/** An explicit remote key source entry of `publicKeyUrls`. */
export interface PublicKeySourceEntry {
  url: string;
  /** Accepted `iss` value(s). */
  issuer: string | string[];
  /** Required `aud` value(s): one of them must be in the token's `aud`. */
  audience: string | string[];
  /** Allowed algorithms. Default `['RS256']`. */
  algorithms?: AsymmetricAlgorithm[];
  /**
   * The source is another jwt-gate server (a trusted peer) whose `isBot` / `tokenType` claims are
   * honoured: its `BOT` tokens become bot principals and are checked against this server's bot
   * store — which must be the peer's store (same `database.url`) so its revocations apply here.
   * Without that store every peer bot token is refused. Default `false`.
   */
  trustBotClaims?: boolean;
  /**
   * Scopes of a token from this source that has no scope claim (an ID token): people signing in
   * keep working. A present but empty claim grants none, never these. Default `[]`.
   */
  defaultScopes?: string[];
  /**
   * The claim that holds the scopes: `scope` (space-separated string) or `scp` (array), or any
   * other claim of either shape. Default: `scope`, then `scp`.
   */
  scopeClaim?: string;
}

export interface AuthenticationConfiguration {
  /** `no-auth`, `google`, `okta`, `auth0`, `azure`, `custom-oidc`, `openmetadata`, ... Env `AUTHENTICATION_PROVIDER`. */
  provider: string;
  /** Env `CUSTOM_OIDC_AUTHENTICATION_PROVIDER_NAME`. */
  providerName: string;
  /** JWKS URLs (or explicit entries). Env `AUTHENTICATION_PUBLIC_KEYS`. */
  publicKeyUrls: Array<string | PublicKeySourceEntry>;
  /** Issuer of the SSO. Env `AUTHENTICATION_AUTHORITY`. */
  authority: string;
  /** OAuth client id of the SSO app; the `aud` required on SSO tokens. Env `AUTHENTICATION_CLIENT_ID`. */
  clientId: string;
  /** Env `AUTHENTICATION_CALLBACK_URL`. */
  callbackUrl: string;
  /** Claims tried in order for the principal name. Env `AUTHENTICATION_JWT_PRINCIPAL_CLAIMS`. */
  jwtPrincipalClaims: string[];
  /** `["username:<claim>", "email:<claim>"]`. Env `AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING`. */
  jwtPrincipalClaimsMapping: string[];
  /**
   * Scopes of a token from a plain `publicKeyUrls` entry that has no scope claim (an ID token).
   * A present but empty claim grants none, never these. Default `[]`. Env
   * `AUTHENTICATION_DEFAULT_SCOPES`.
   */
  defaultScopes: string[];
  /**
   * The claim plain `publicKeyUrls` entries take scopes from (`scope`: space-separated string,
   * `scp`: array). Default: empty, meaning `scope`, then `scp`. Env `AUTHENTICATION_SCOPE_CLAIM`.
   */
  scopeClaim: string;
}

export interface AuthorizerConfiguration {
  /** Env `AUTHORIZER_ADMIN_PRINCIPALS`. Default `[admin]`. */
  adminPrincipals: string[];
  /** Env `AUTHORIZER_PRINCIPAL_DOMAIN`. */
  principalDomain: string;
  /** Env `AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN`. Default `false`. */
  enforcePrincipalDomain: boolean;
}

export interface AirflowConfiguration {
  /**
   * Env `AIRFLOW_HOST`. Every call carries a bot token, so plain http is allowed only to loopback
   * (localhost, 127.0.0.0/8, [::1]) unless `allowInsecureHttp` is true.
   */
  apiEndpoint: string;
  /**
   * Allow plain http to a non-loopback `apiEndpoint`. The bot token then crosses the network
   * unencrypted: only for a network you trust. Default `false`. Env `AIRFLOW_ALLOW_INSECURE_HTTP`.
   */
  allowInsecureHttp?: boolean;
  /** Env `SERVER_HOST_API_URL`. */
  metadataApiEndpoint: string;
  /** Env `AIRFLOW_AUTH_PROVIDER`. */
  authProvider: string;
  authConfig: {
    openmetadata: {
      jwtToken: string;
      /**
       * The DPoP key file (a private JWK, mode 0600) that the bot token is bound to; created on first
       * use. Empty (default): the token is sent as Bearer. Env `OM_DPOP_KEY_FILE`.
       */
      dpopKeyFilePath?: string;
    };
  };
}

export interface ServerConfiguration {
  /** Env `SERVER_PORT`. Default 8585. */
  port: number;
  /** Env `SERVER_HOST`. Default `127.0.0.1`... */
  host: string;
}

export interface DatabaseConfiguration {
  /**
   * Where bot-token state lives: `memory:` (default: this process only, gone at restart),
   * `sqlite:./data/jwt-gate.db` (one file; driver `better-sqlite3`) or `postgres://…` (shared by
   * several instances; driver `pg`). Opened only when the gate has keys or trusts a peer's bot
   * tokens. Env `DATABASE_URL`.
   */
  url: string;
}

/** Our own addition: the bots a gate with keys creates on its first start. */
export interface BotConfiguration {
  /**
   * Bot names created on the first start (a bot an admin deleted later stays deleted). Default
   * none; the example app lists `ingestion-bot`, as the reference has. Env `JWT_GATE_DEFAULT_BOTS`.
   */
  defaultBots: string[];
  /**
   * The allowed scopes (`allowedScopes`) a default bot gets when it is created, e.g.
   * `[tables:read,tables:write]`; an admin changes them later. Default `[]`. Env
   * `JWT_GATE_DEFAULT_BOT_SCOPES`.
   */
  defaultBotScopes: string[];
}

/** Our own addition: DPoP (RFC 9449), tokens bound to a key their client holds. */
export interface DpopConfiguration {
  /**
   * Proof algorithms accepted, among ES256, EdDSA, RS256, PS256 (the default: all four). Env
   * `JWT_GATE_DPOP_ALGORITHMS`.
   */
  algorithms: string[];
  /** How old a proof's `iat` may be, seconds (5 more are allowed into the future). Default 60. Env `JWT_GATE_DPOP_PROOF_MAX_AGE_SECONDS`. */
  proofMaxAgeSeconds: number;
  /**
   * The origin clients call, e.g. `https://api.example.com`: a proof's `htu` must name it. Empty
   * (default): the request's own scheme and `Host`, which a client chooses — set it whenever the
   * API has more than one name or sits behind a proxy. Env `JWT_GATE_EXTERNAL_ORIGIN`.
   */
  externalOrigin: string;
  /**
   * IP addresses of the reverse proxies whose `X-Forwarded-Proto` / `X-Forwarded-Host` are believed
   * when `externalOrigin` is empty. Default none. Env `JWT_GATE_TRUSTED_PROXIES`.
   */
  trustedProxies: string[];
  /**
   * Require a server nonce in every proof (RFC 9449 §8): a proof without a current one gets 401
   * `use_dpop_nonce` with a `DPoP-Nonce` to retry with. Default false. Env `JWT_GATE_DPOP_REQUIRE_NONCE`.
   */
  requireNonce: boolean;
  /**
   * The secret server nonces are derived from (HMAC-SHA256), at least 32 characters. Empty
   * (default): a random secret per process — then a nonce from one instance is refused by another,
   * so several instances behind one name need this set, the same on each. A secret: never logged.
   * Env `JWT_GATE_DPOP_NONCE_SECRET`.
   */
  nonceSecret: string;
}

/** Our own addition: people's personal access tokens (`PUT /api/v1/users/security/token`). */
export interface PersonalTokenConfiguration {
  /**
   * Most live (not revoked, not expired) personal access tokens one person may hold; minting one
   * more is a 409 until they revoke one. Default 10. Env `JWT_GATE_PERSONAL_TOKEN_LIMIT`.
   */
  maxTokensPerUser: number;
}

/** Our own additions: verification and JWKS-fetching limits. */
export interface VerificationConfiguration {
  /** Allowed clock skew for `exp`/`nbf`/`iat`, seconds. Default 60. Env `JWT_CLOCK_TOLERANCE_SECONDS`. */
  clockToleranceSeconds: number;
  /** Largest accepted token, bytes. Default 8192. */
  maxTokenBytes: number;
  /** Verified-token cache. */
  cache: { enabled: boolean; maxEntries: number };
  /** Remote JWKS fetching. */
  jwks: JwksFetchConfiguration;
  /** `WWW-Authenticate` realm. Default `jwt-gate`. */
  realm: string;
  /**
   * How a token missing from the verified-token cache is verified. `direct` (default): the
   * source's checks and a `crypto.verify` with the source's key object. `passport`: through the
   * source's passport-jwt strategy on jwt-gate's own Passport instance (jsonwebtoken then checks
   * the signature). Both enforce the same rules; `direct` saves ~15 µs per miss. Env
   * `JWT_VERIFY_ENGINE`.
   */
  engine: 'direct' | 'passport';
  /**
   * `engine: direct`: check a signature on libuv's thread pool (`crypto.verify` with a callback),
   * so the event loop serves other requests during the RSA/ECDSA arithmetic. Default true. The
   * pool is shared with file I/O, zlib and DNS lookups: when it has answered no check for
   * 100–200 ms while some wait, those and new checks run on the event loop until it moves again.
   * `false`: always on the event loop. Env `JWT_OFFLOAD_SIGNATURES`.
   */
  offloadSignatures: boolean;
}

/** Our own addition: who may read the health route's details (`GET /api/v1/system/health`). */
export interface HealthConfiguration {
  /**
   * Operator token: a request sending `Authorization: Bearer <this value>` to the health route
   * gets the full report (key source URLs and errors, store kind, fetch counts), as an admin does.
   * At least 32 characters of `A-Z a-z 0-9 - . _ ~ + /` (e.g. `openssl rand -hex 32`); empty
   * (default) means no operator token. Compared in constant time; never logged. Env
   * `JWT_GATE_HEALTH_TOKEN`.
   */
  detailsToken: string;
}

/**
 * Our own addition: RFC 9728 protected-resource metadata, served at
 * `/.well-known/oauth-protected-resource` (and the path-suffixed form) and named in every 401
 * challenge (`resource_metadata="…"`), so a client can discover where to get a token.
 */
export interface ProtectedResourceConfiguration {
  /**
   * The API's resource identifier (RFC 9728 §1.2), e.g. `https://api.example.com` or
   * `https://api.example.com/api`: https (http only to loopback), no query or fragment, written
   * canonically. Empty (default): no metadata is served and challenges carry no
   * `resource_metadata` — it is never derived from the request's `Host` (docs/security.md).
   * Env `JWT_GATE_RESOURCE`.
   */
  resource: string;
  /** `resource_name`: a human-readable name of the API. Empty: omitted. Env `JWT_GATE_RESOURCE_NAME`. */
  resourceName: string;
  /**
   * Scopes advertised in `scopes_supported`, besides the sources' `defaultScopes` and (with keys)
   * `botConfiguration.defaultBotScopes`. Default `[]`. Env `JWT_GATE_SCOPES_SUPPORTED`.
   */
  scopesSupported: string[];
}

export interface JwksFetchConfiguration {
  /** Per-request timeout, ms. Default 5000. */
  timeoutMs: number;
  /** Largest JWKS response accepted, bytes. Default 262144 (256 KiB). */
  maxResponseBytes: number;
  /** Most keys taken from one JWKS. Default 50. */
  maxKeys: number;
  /** Minimum time between fetches triggered by unknown `kid`s, seconds. Default 30. */
  cooldownSeconds: number;
  /** Keys are refreshed after `Cache-Control: max-age`, clamped to [min, max]; default when absent. Seconds. */
  minCacheSeconds: number;
  maxCacheSeconds: number;
  defaultCacheSeconds: number;
  /** How long keys stay usable after a failed refresh, seconds. Default 3600. */
  staleIfErrorSeconds: number;
}

export interface ResolvedConfig {
  jwtTokenConfiguration: JwtTokenConfiguration;
  authenticationConfiguration: AuthenticationConfiguration;
  authorizerConfiguration: AuthorizerConfiguration;
  airflowConfiguration: AirflowConfiguration;
  server: ServerConfiguration;
  database: DatabaseConfiguration;
  botConfiguration: BotConfiguration;
  personalTokenConfiguration: PersonalTokenConfiguration;
  dpopConfiguration: DpopConfiguration;
  verificationConfiguration: VerificationConfiguration;
  healthConfiguration: HealthConfiguration;
  protectedResourceConfiguration: ProtectedResourceConfiguration;
  /** Where each value came from, to name it in error messages. */
  provenance: ConfigProvenance;
  /** Directory relative paths in the config resolve against (the YAML's directory, or cwd). */
  baseDir: string;
}

/** Maps a dotted YAML path (e.g. `jwtTokenConfiguration.keyId`) to the env var that fed it. */
export interface ConfigProvenance {
  /** `jwtTokenConfiguration.rsaprivateKeyFilePath (from RSA_PRIVATE_KEY_FILE_PATH)` or just the path. */
  describe(path: string): string;
}

/** Deep-partial options object accepted by `resolveOptions()` / `createJwtGate()`. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Array<infer U> ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};
export type JwtGateOptions = DeepPartial<Omit<ResolvedConfig, 'provenance' | 'baseDir'>> & {
  baseDir?: string;
};
