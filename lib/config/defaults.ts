/**
 * Every default of the configuration, with the environment variable that overrides it: the
 * reference's values (OpenMetadata's "Enable JWT Tokens" YAML) plus jwt-gate's own additions.
 * `loadConfig()` and `resolveOptions()` both fill absent values from this one table.
 */

/** One leaf of the defaults table. */
export class SettingDefault {
  /**
   * @param env Environment variable that overrides the value when the YAML does not mention the key
   *   (the same name the reference YAML uses in `${VAR:-default}`).
   * @param value Default for both the YAML and the typed options object.
   * @param yamlValue Default only when loading YAML (the reference's key paths); the typed options
   *   object has none, so an embedding app never reads `./conf/*.der` by surprise.
   */
  constructor(
    readonly env: string | undefined,
    readonly value: unknown,
    readonly yamlValue: unknown = value,
  ) {}
}

/** A block of the defaults table: nested blocks and leaves. */
export interface DefaultsBlock {
  readonly [key: string]: DefaultsBlock | SettingDefault;
}

function setting(env: string | undefined, value: unknown, yamlValue: unknown = value): SettingDefault {
  return new SettingDefault(env, value, yamlValue);
}

/** The reference's default `keyId`; changing it invalidates every token minted so far. */
export const REFERENCE_KEY_ID = 'Gb389a-9f76-gdjs-a92j-0242bk94356';

export const CONFIG_DEFAULTS: DefaultsBlock = {
  jwtTokenConfiguration: {
    // No keys unless configured (the reference's YAML names ./conf/*.der itself): without them a
    // gate verifies SSO tokens only.
    rsapublicKeyFilePath: setting('RSA_PUBLIC_KEY_FILE_PATH', undefined),
    rsaprivateKeyFilePath: setting('RSA_PRIVATE_KEY_FILE_PATH', undefined),
    rsapublicKey: setting('RSA_PUBLIC_KEY', undefined),
    rsaprivateKey: setting('RSA_PRIVATE_KEY', undefined),
    jwtissuer: setting('JWT_ISSUER', 'open-metadata.org'),
    keyId: setting('JWT_KEY_ID', REFERENCE_KEY_ID),
    algorithm: setting('JWT_ALGORITHM', 'RS256'),
    audience: setting('JWT_AUDIENCE', 'jwt-gate'),
    additionalPublicKeys: setting(undefined, []),
  },
  authenticationConfiguration: {
    // Fails closed: only an app that says `no-auth` itself lets requests without a token in.
    provider: setting('AUTHENTICATION_PROVIDER', 'custom-oidc'),
    providerName: setting('CUSTOM_OIDC_AUTHENTICATION_PROVIDER_NAME', ''),
    // The typed options trust no IdP by default; the YAML keeps the reference's Google default.
    publicKeyUrls: setting('AUTHENTICATION_PUBLIC_KEYS', [], ['https://www.googleapis.com/oauth2/v3/certs']),
    // Only what was configured is published at /api/v1/system/config/auth.
    authority: setting('AUTHENTICATION_AUTHORITY', ''),
    clientId: setting('AUTHENTICATION_CLIENT_ID', ''),
    callbackUrl: setting('AUTHENTICATION_CALLBACK_URL', ''),
    jwtPrincipalClaims: setting('AUTHENTICATION_JWT_PRINCIPAL_CLAIMS', [
      'email',
      'preferred_username',
      'sub',
    ]),
    jwtPrincipalClaimsMapping: setting('AUTHENTICATION_JWT_PRINCIPAL_CLAIMS_MAPPING', []),
    // SSO tokens without a scope claim (ID tokens) get these; empty: no scopes.
    defaultScopes: setting('AUTHENTICATION_DEFAULT_SCOPES', []),
    // Empty: `scope`, then `scp`.
    scopeClaim: setting('AUTHENTICATION_SCOPE_CLAIM', ''),
  },
  authorizerConfiguration: {
    adminPrincipals: setting('AUTHORIZER_ADMIN_PRINCIPALS', ['admin']),
    principalDomain: setting('AUTHORIZER_PRINCIPAL_DOMAIN', 'open-metadata.org'),
    enforcePrincipalDomain: setting('AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN', false),
  },
  airflowConfiguration: {
    apiEndpoint: setting('AIRFLOW_HOST', 'http://localhost:8080'),
    // Absent means false: plain http to a non-loopback apiEndpoint is refused (it carries a bot token).
    allowInsecureHttp: setting('AIRFLOW_ALLOW_INSECURE_HTTP', undefined),
    metadataApiEndpoint: setting('SERVER_HOST_API_URL', 'http://localhost:8585/api'),
    authProvider: setting('AIRFLOW_AUTH_PROVIDER', 'openmetadata'),
    authConfig: {
      openmetadata: {
        jwtToken: setting('OM_AUTH_JWT_TOKEN', '<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>'),
        dpopKeyFilePath: setting('OM_DPOP_KEY_FILE', ''),
      },
    },
  },
  server: {
    port: setting('SERVER_PORT', 8585),
    // Loopback by default: exposing the server is a decision, not an accident.
    host: setting('SERVER_HOST', '127.0.0.1'),
  },
  database: {
    // Nothing is written to disk unless configured: the example app's YAML names its SQLite file.
    url: setting('DATABASE_URL', 'memory:'),
  },
  botConfiguration: {
    defaultBots: setting('JWT_GATE_DEFAULT_BOTS', []),
    defaultBotScopes: setting('JWT_GATE_DEFAULT_BOT_SCOPES', []),
  },
  personalTokenConfiguration: {
    maxTokensPerUser: setting('JWT_GATE_PERSONAL_TOKEN_LIMIT', 10),
  },
  dpopConfiguration: {
    algorithms: setting('JWT_GATE_DPOP_ALGORITHMS', ['ES256', 'EdDSA', 'RS256', 'PS256']),
    proofMaxAgeSeconds: setting('JWT_GATE_DPOP_PROOF_MAX_AGE_SECONDS', 60),
    externalOrigin: setting('JWT_GATE_EXTERNAL_ORIGIN', ''),
    trustedProxies: setting('JWT_GATE_TRUSTED_PROXIES', []),
    requireNonce: setting('JWT_GATE_DPOP_REQUIRE_NONCE', false),
    nonceSecret: setting('JWT_GATE_DPOP_NONCE_SECRET', ''),
  },
  verificationConfiguration: {
    clockToleranceSeconds: setting('JWT_CLOCK_TOLERANCE_SECONDS', 60),
    maxTokenBytes: setting('JWT_MAX_TOKEN_BYTES', 8192),
    cache: {
      enabled: setting('JWT_CACHE_ENABLED', true),
      maxEntries: setting('JWT_CACHE_MAX_ENTRIES', 10_000),
    },
    jwks: {
      timeoutMs: setting('JWKS_TIMEOUT_MS', 5000),
      maxResponseBytes: setting('JWKS_MAX_RESPONSE_BYTES', 262_144),
      maxKeys: setting('JWKS_MAX_KEYS', 50),
      cooldownSeconds: setting('JWKS_COOLDOWN_SECONDS', 30),
      minCacheSeconds: setting('JWKS_MIN_CACHE_SECONDS', 60),
      maxCacheSeconds: setting('JWKS_MAX_CACHE_SECONDS', 86_400),
      defaultCacheSeconds: setting('JWKS_DEFAULT_CACHE_SECONDS', 600),
      staleIfErrorSeconds: setting('JWKS_STALE_IF_ERROR_SECONDS', 3600),
    },
    realm: setting('JWT_GATE_REALM', 'jwt-gate'),
    engine: setting('JWT_VERIFY_ENGINE', 'direct'),
    offloadSignatures: setting('JWT_OFFLOAD_SIGNATURES', true),
  },
  healthConfiguration: {
    // Empty: only admins see the health details.
    detailsToken: setting('JWT_GATE_HEALTH_TOKEN', ''),
  },
  protectedResourceConfiguration: {
    // Empty: no RFC 9728 metadata, no resource_metadata in challenges (never taken from Host).
    resource: setting('JWT_GATE_RESOURCE', ''),
    resourceName: setting('JWT_GATE_RESOURCE_NAME', ''),
    scopesSupported: setting('JWT_GATE_SCOPES_SUPPORTED', []),
  },
};
