import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ConfigError } from '../lib/errors.js';
import { loadConfig } from '../lib/config/load-config.js';
import { resolveOptions } from '../lib/config/resolve-options.js';
import type { ResolvedConfig } from '../lib/config/types.js';

/** The reference YAML (docs/configuration.md#the-reference-yaml), verbatim. */
const REFERENCE_YAML = `
jwtTokenConfiguration:
  rsapublicKeyFilePath: \${RSA_PUBLIC_KEY_FILE_PATH:-"./conf/public_key.der"}
  rsaprivateKeyFilePath: \${RSA_PRIVATE_KEY_FILE_PATH:-"./conf/private_key.der"}
  jwtissuer: \${JWT_ISSUER:-"open-metadata.org"}
  keyId: \${JWT_KEY_ID:-"Gb389a-9f76-gdjs-a92j-0242bk94356"}
authenticationConfiguration:
  provider: \${AUTHENTICATION_PROVIDER:-no-auth}
  providerName: \${CUSTOM_OIDC_AUTHENTICATION_PROVIDER_NAME:-""}
  publicKeyUrls: \${AUTHENTICATION_PUBLIC_KEYS:-[https://www.googleapis.com/oauth2/v3/certs]}
  authority: \${AUTHENTICATION_AUTHORITY:-https://accounts.google.com}
  clientId: \${AUTHENTICATION_CLIENT_ID:-""}
  callbackUrl: \${AUTHENTICATION_CALLBACK_URL:-""}
  jwtPrincipalClaims: \${AUTHENTICATION_JWT_PRINCIPAL_CLAIMS:-[email,preferred_username,sub]}
authorizerConfiguration:
  adminPrincipals: \${AUTHORIZER_ADMIN_PRINCIPALS:-[admin]}
  principalDomain: \${AUTHORIZER_PRINCIPAL_DOMAIN:-"open-metadata.org"}
  enforcePrincipalDomain: \${AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN:-false}
airflowConfiguration:          # the pipeline service the server calls with a bot token
  apiEndpoint: \${AIRFLOW_HOST:-http://localhost:8080}
  metadataApiEndpoint: \${SERVER_HOST_API_URL:-http://localhost:8585/api}
  authProvider: \${AIRFLOW_AUTH_PROVIDER:-"openmetadata"}
  authConfig:
    openmetadata:
      jwtToken: \${OM_AUTH_JWT_TOKEN:-"<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>"}
`;

const EXAMPLE_APP_YAML = resolve('example-app/conf/jwt-gate.yaml');

/** Every default of the reference YAML and ours, as the YAML path resolves them. */
const DEFAULT_BLOCKS = {
  jwtTokenConfiguration: {
    rsapublicKeyFilePath: './conf/public_key.der',
    rsaprivateKeyFilePath: './conf/private_key.der',
    jwtissuer: 'open-metadata.org',
    keyId: 'Gb389a-9f76-gdjs-a92j-0242bk94356',
    algorithm: 'RS256',
    audience: 'jwt-gate',
    additionalPublicKeys: [],
  },
  authenticationConfiguration: {
    provider: 'no-auth',
    providerName: '',
    publicKeyUrls: ['https://www.googleapis.com/oauth2/v3/certs'],
    authority: 'https://accounts.google.com',
    clientId: '',
    callbackUrl: '',
    jwtPrincipalClaims: ['email', 'preferred_username', 'sub'],
    jwtPrincipalClaimsMapping: [],
    defaultScopes: [],
    scopeClaim: '',
  },
  authorizerConfiguration: {
    adminPrincipals: ['admin'],
    principalDomain: 'open-metadata.org',
    enforcePrincipalDomain: false,
  },
  airflowConfiguration: {
    apiEndpoint: 'http://localhost:8080',
    metadataApiEndpoint: 'http://localhost:8585/api',
    authProvider: 'openmetadata',
    authConfig: { openmetadata: { jwtToken: '<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>', dpopKeyFilePath: '' } },
  },
  server: { port: 8585, host: '127.0.0.1' },
  database: { url: 'memory:' },
  botConfiguration: { defaultBots: [], defaultBotScopes: [] },
  personalTokenConfiguration: { maxTokensPerUser: 10 },
  dpopConfiguration: {
    algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    proofMaxAgeSeconds: 60,
    externalOrigin: '',
    trustedProxies: [],
    requireNonce: false,
    nonceSecret: '',
  },
  verificationConfiguration: {
    clockToleranceSeconds: 60,
    maxTokenBytes: 8192,
    cache: { enabled: true, maxEntries: 10000 },
    jwks: {
      timeoutMs: 5000,
      maxResponseBytes: 262144,
      maxKeys: 50,
      cooldownSeconds: 30,
      minCacheSeconds: 60,
      maxCacheSeconds: 86400,
      defaultCacheSeconds: 600,
      staleIfErrorSeconds: 3600,
    },
    realm: 'jwt-gate',
    engine: 'direct',
    offloadSignatures: true,
  },
  healthConfiguration: { detailsToken: '' },
  protectedResourceConfiguration: { resource: '', resourceName: '', scopesSupported: [] },
};

/**
 * What a file (or an options object) that says nothing gets: no keys, no anonymous access
 * (`custom-oidc`, not the reference's `no-auth`), no authority to publish, memory for bot state.
 */
const EMPTY_FILE_BLOCKS = {
  ...DEFAULT_BLOCKS,
  jwtTokenConfiguration: {
    jwtissuer: 'open-metadata.org',
    keyId: 'Gb389a-9f76-gdjs-a92j-0242bk94356',
    algorithm: 'RS256',
    audience: 'jwt-gate',
    additionalPublicKeys: [],
  },
  authenticationConfiguration: {
    ...DEFAULT_BLOCKS.authenticationConfiguration,
    provider: 'custom-oidc',
    authority: '',
  },
};

/** The configuration without `provenance`/`baseDir`, as plain data (drops keys set to undefined). */
function blocksOf(config: ResolvedConfig): unknown {
  const { provenance: _provenance, baseDir: _baseDir, ...blocks } = config;
  return JSON.parse(JSON.stringify(blocks));
}

function load(text: string, env: NodeJS.ProcessEnv = {}): ResolvedConfig {
  return loadConfig({ text, env });
}

/** Asserts that loading fails with one ConfigError whose message matches every pattern. */
function assertRefused(text: string, env: NodeJS.ProcessEnv, ...patterns: RegExp[]): void {
  assert.throws(
    () => load(text, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_CONFIG_INVALID');
      for (const pattern of patterns) assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('loadConfig', () => {
  it('loads the reference YAML with the reference defaults', () => {
    const config = load(REFERENCE_YAML);
    assert.deepEqual(blocksOf(config), DEFAULT_BLOCKS);
    assert.equal(config.baseDir, process.cwd());
  });

  it('gives an empty file defaults that fail closed, and resolves baseDir to the file directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-gate-config-'));
    try {
      writeFileSync(join(dir, 'empty.yaml'), '# nothing\n');
      const config = loadConfig({ path: join(dir, 'empty.yaml'), env: {} });
      assert.deepEqual(blocksOf(config), EMPTY_FILE_BLOCKS);
      assert.equal(config.baseDir, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('applies environment overrides typed by each field: string, lists, boolean, number', () => {
    const config = load(REFERENCE_YAML, {
      JWT_ISSUER: 'https://api.example.com',
      AUTHENTICATION_JWT_PRINCIPAL_CLAIMS: '[upn, "email"]',
      AUTHORIZER_ADMIN_PRINCIPALS: 'alice,bob',
      AUTHENTICATION_PUBLIC_KEYS: '[https://idp.example.com/jwks]',
      AUTHORIZER_ENFORCE_PRINCIPAL_DOMAIN: 'true',
      SERVER_PORT: '9000',
      JWKS_TIMEOUT_MS: '1500',
    });
    assert.equal(config.jwtTokenConfiguration.jwtissuer, 'https://api.example.com');
    assert.deepEqual(config.authenticationConfiguration.jwtPrincipalClaims, ['upn', 'email']);
    assert.deepEqual(config.authorizerConfiguration.adminPrincipals, ['alice', 'bob']);
    assert.deepEqual(config.authenticationConfiguration.publicKeyUrls, ['https://idp.example.com/jwks']);
    assert.equal(config.authorizerConfiguration.enforcePrincipalDomain, true);
    // `server` and `verificationConfiguration` are absent from the file: their variables still apply.
    assert.equal(config.server.port, 9000);
    assert.equal(config.verificationConfiguration.jwks.timeoutMs, 1500);
  });

  it('strips quotes from defaults, keeps "" empty, and uses the default for an empty variable', () => {
    const config = load(REFERENCE_YAML, { JWT_KEY_ID: '' });
    assert.equal(config.authorizerConfiguration.principalDomain, 'open-metadata.org');
    assert.equal(config.authenticationConfiguration.clientId, '');
    assert.equal(config.jwtTokenConfiguration.keyId, 'Gb389a-9f76-gdjs-a92j-0242bk94356');
  });

  it('substitutes inside longer strings, nests defaults, and writes $${ as a literal ${', () => {
    const config = load(
      [
        'airflowConfiguration:',
        '  apiEndpoint: http://${AIRFLOW_HOSTNAME:-localhost}:${AIRFLOW_PORT:-8080}/api',
        '  authProvider: ${AIRFLOW_AUTH:-${LEGACY_AIRFLOW_AUTH:-openmetadata}}',
        '  metadataApiEndpoint: $${NOT_A_VARIABLE}',
      ].join('\n'),
      { AIRFLOW_PORT: '9999', LEGACY_AIRFLOW_AUTH: 'legacy' },
    );
    assert.equal(config.airflowConfiguration.apiEndpoint, 'http://localhost:9999/api');
    assert.equal(config.airflowConfiguration.authProvider, 'legacy');
    assert.equal(config.airflowConfiguration.metadataApiEndpoint, '${NOT_A_VARIABLE}');
  });

  it('keeps an environment value holding YAML-like text as one plain string', () => {
    const injected = 'foo: [bar]\n baz: {evil: true}';
    const config = load('jwtTokenConfiguration:\n  jwtissuer: ${JWT_ISSUER}\n', { JWT_ISSUER: injected });
    assert.equal(config.jwtTokenConfiguration.jwtissuer, injected);
    assert.equal('foo' in config.jwtTokenConfiguration, false);
    assert.equal('baz' in config, false);
  });

  it('records which environment variable fed each value', () => {
    const config = load(REFERENCE_YAML + 'server:\n  host: 0.0.0.0\n', { JWT_KEY_ID: 'key-2024' });
    assert.equal(
      config.provenance.describe('jwtTokenConfiguration.keyId'),
      'jwtTokenConfiguration.keyId (from environment variable JWT_KEY_ID)',
    );
    assert.match(
      config.provenance.describe('jwtTokenConfiguration.jwtissuer'),
      /default of environment variable JWT_ISSUER/,
    );
    assert.equal(config.provenance.describe('server.host'), 'server.host');
    assert.match(
      config.provenance.describe('authenticationConfiguration.publicKeyUrls[0]'),
      /AUTHENTICATION_PUBLIC_KEYS/,
    );
  });

  it('refuses ${VAR} without default when VAR is unset, naming the field and the variable', () => {
    assertRefused(
      'jwtTokenConfiguration:\n  keyId: ${SIGNING_KEY_ID}\n',
      {},
      /line 2: jwtTokenConfiguration\.keyId uses \$\{SIGNING_KEY_ID\}, but environment variable SIGNING_KEY_ID is not set/,
    );
    assert.equal(
      load('jwtTokenConfiguration:\n  keyId: ${SIGNING_KEY_ID}\n', { SIGNING_KEY_ID: 'k1' })
        .jwtTokenConfiguration.keyId,
      'k1',
    );
  });

  it('refuses a malformed ${...} expression', () => {
    assertRefused(
      'server:\n  host: ${SERVER HOST}\n',
      {},
      /server\.host has a malformed environment expression/,
    );
  });

  it('refuses a wrong type, naming the path, the environment variable and the fix', () => {
    assertRefused(
      'server:\n  port: ${SERVER_PORT:-8585}\n',
      { SERVER_PORT: 'abc' },
      /server\.port \(from environment variable SERVER_PORT\) must be a number, got "abc": correct environment variable SERVER_PORT/,
    );
    assertRefused(
      'authorizerConfiguration:\n  enforcePrincipalDomain: yes\n',
      {},
      /enforcePrincipalDomain must be true or false, got "yes"/,
    );
    assertRefused(
      'jwtTokenConfiguration:\n  keyId: 12345\n',
      {},
      /keyId must be text, got 12345: put it in quotes/,
    );
  });

  it('refuses unknown keys, suggesting the close one', () => {
    assertRefused(
      'jwtTokenConfiguration:\n  jwtIssuer: x\nauthenticationConfiguration:\n  publicKeyUrl: https://a.example/jwks\n',
      {},
      /jwtTokenConfiguration\.jwtIssuer is not a known setting: did you mean `jwtissuer`\?/,
      /authenticationConfiguration\.publicKeyUrl is not a known setting: did you mean `publicKeyUrls`\?/,
    );
    assertRefused(
      'server:\n  listen: 80\n',
      {},
      /server\.listen is not a known setting: remove it \(known settings under server: port, host\)/,
    );
  });

  it('refuses missing values, non-finite numbers and out-of-range ports', () => {
    assertRefused(
      'jwtTokenConfiguration:\n  jwtissuer:\n',
      {},
      /jwtTokenConfiguration\.jwtissuer has no value/,
    );
    assertRefused(
      'authenticationConfiguration:\n  publicKeyUrls:\n    - url: https://idp.example.com/jwks\n',
      {},
      /authenticationConfiguration\.publicKeyUrls\[0\]\.issuer is missing/,
    );
    assertRefused(
      'verificationConfiguration:\n  clockToleranceSeconds: .inf\n',
      {},
      /clockToleranceSeconds must be a finite number, got Infinity/,
    );
    assertRefused('server:\n  port: 70000\n', {}, /server\.port must be a port number from 0 to 65535/);
    assertRefused(
      '',
      { SERVER_PORT: '-1' },
      /server\.port \(from environment variable SERVER_PORT\) must be a port number/,
    );
  });

  it('accepts https JWKS URLs and plain http only to loopback hosts', () => {
    const urls = [
      'https://idp.example.com/jwks',
      'http://localhost:9090/jwks',
      'http://127.0.0.5/jwks',
      'http://[::1]:8/j',
    ];
    const config = load(REFERENCE_YAML, { AUTHENTICATION_PUBLIC_KEYS: urls.join(',') });
    assert.deepEqual(config.authenticationConfiguration.publicKeyUrls, urls);
  });

  it('refuses JWKS URLs that are relative, not http(s), or plain http to another host', () => {
    assertRefused(
      REFERENCE_YAML,
      { AUTHENTICATION_PUBLIC_KEYS: '/jwks' },
      /publicKeyUrls\[0\] .* must be an absolute http\(s\) URL/,
    );
    assertRefused(
      REFERENCE_YAML,
      { AUTHENTICATION_PUBLIC_KEYS: 'ftp://idp.example.com/jwks' },
      /must be an http\(s\) URL/,
    );
    assertRefused(
      REFERENCE_YAML,
      { AUTHENTICATION_PUBLIC_KEYS: '[https://ok.example.com/jwks, http://idp.example.com/jwks]' },
      /authenticationConfiguration\.publicKeyUrls\[1\] \(from environment variable AUTHENTICATION_PUBLIC_KEYS\) uses plain http to idp\.example\.com/,
    );
  });

  it('validates explicit key source entries, never allowing none or HS* algorithms', () => {
    const entry = (algorithms: string): string =>
      `authenticationConfiguration:\n  publicKeyUrls:\n    - url: https://idp.example.com/jwks\n      issuer: https://idp.example.com\n      audience: [api]\n      algorithms: ${algorithms}\n`;
    const config = load(entry('[RS256, ES256]'));
    assert.deepEqual(config.authenticationConfiguration.publicKeyUrls, [
      {
        url: 'https://idp.example.com/jwks',
        issuer: 'https://idp.example.com',
        audience: ['api'],
        algorithms: ['RS256', 'ES256'],
      },
    ]);
    assertRefused(
      entry('[none]'),
      {},
      /publicKeyUrls\[0\]\.algorithms\[0\] must be an asymmetric algorithm .* got "none"/,
    );
    assertRefused(entry('[HS256]'), {}, /algorithms\[0\] must be an asymmetric algorithm .* got "HS256"/);
    const noAlgorithms = load(
      'authenticationConfiguration:\n  publicKeyUrls:\n    - {url: "https://a.example/j", issuer: a, audience: app}\n',
    );
    assert.deepEqual(noAlgorithms.authenticationConfiguration.publicKeyUrls[0], {
      url: 'https://a.example/j',
      issuer: 'a',
      audience: 'app',
      algorithms: ['RS256'],
    });
    // A source bound to no audience would take tokens minted for any other app of its IdP.
    assertRefused(
      'authenticationConfiguration:\n  publicKeyUrls:\n    - {url: "https://a.example/j", issuer: a}\n',
      {},
      /publicKeyUrls\[0\]\.audience is missing/,
    );
    assertRefused(
      'authenticationConfiguration:\n  publicKeyUrls:\n    - {url: "http://evil.example/j", issuer: a, issuers: b}\n',
      {},
      /publicKeyUrls\[0\]\.url uses plain http/,
      /publicKeyUrls\[0\]\.issuers is not a known setting: did you mean `issuer`\?/,
    );
  });

  it('allows only RS256/RS384/RS512 for our own tokens', () => {
    assert.equal(load('', { JWT_ALGORITHM: 'RS512' }).jwtTokenConfiguration.algorithm, 'RS512');
    assertRefused(
      '',
      { JWT_ALGORITHM: 'HS256' },
      /jwtTokenConfiguration\.algorithm \(from environment variable JWT_ALGORITHM\) must be RS256, RS384 or RS512/,
    );
  });

  it('accepts sqlite:, postgres:// and memory: database URLs and refuses others without echoing passwords', () => {
    for (const url of [
      'sqlite:/var/lib/jwt-gate.db',
      'postgres://u@127.0.0.1:5432/test',
      'postgresql://db/x',
      'memory:',
    ]) {
      assert.equal(load('', { DATABASE_URL: url }).database.url, url);
    }
    assert.throws(
      () => load('', { DATABASE_URL: 'mysql://root:hunter2@db/app' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /database\.url \(from environment variable DATABASE_URL\) must be sqlite:<path>/.test(
          error.message,
        ) &&
        !error.message.includes('hunter2'),
    );
    assertRefused('database:\n  url: "sqlite:"\n', {}, /database\.url .*which names no file/);
  });

  it('never echoes a token or private key in a message', () => {
    assert.throws(
      () => load('jwtTokenConfiguration:\n  rsaprivateKey: 1234567\n'),
      (error: unknown) =>
        error instanceof ConfigError &&
        /rsaprivateKey must be text, got a secret value \(not shown\)/.test(error.message) &&
        !error.message.includes('1234567'),
    );
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl';
    assert.throws(
      () => load('', { JWT_ALGORITHM: token }),
      (error: unknown) =>
        error instanceof ConfigError && !error.message.includes('eyJ') && /not shown/.test(error.message),
    );
  });

  it('checks rotation keys and JWKS cache bounds together', () => {
    assertRefused(
      [
        'jwtTokenConfiguration:',
        '  keyId: k1',
        '  additionalPublicKeys:',
        '    - {keyId: k1, publicKeyFilePath: ./old.der}',
        '    - {keyId: k0}',
      ].join('\n'),
      {},
      /additionalPublicKeys\[0\]\.keyId repeats the key id "k1"/,
      /additionalPublicKeys\[1\] must set exactly one of `publicKeyFilePath`/,
    );
    assertRefused(
      '',
      { JWKS_MIN_CACHE_SECONDS: '900', JWKS_MAX_CACHE_SECONDS: '300' },
      /minCacheSeconds .* must not exceed maxCacheSeconds \(300\)/,
    );
  });

  it('reports every problem in one message, one per line, in file order', () => {
    assert.throws(
      () => load('server:\n  port: abc\n  host: ""\ndatabase:\n  url: nope\n'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const lines = error.message.split('\n');
        assert.match(lines[0] ?? '', /^Invalid jwt-gate configuration \(inline YAML\), 3 problems:$/);
        assert.match(lines[1] ?? '', /line 2: server\.port must be a number/);
        assert.match(lines[2] ?? '', /line 3: server\.host must not be empty/);
        assert.match(lines[3] ?? '', /line 5: database\.url must be/);
        return true;
      },
    );
  });

  it('refuses invalid YAML, duplicate keys, a non-mapping file and a missing file', () => {
    assertRefused('server: [unclosed\n', {}, /not valid YAML/);
    assertRefused('server:\n  port: 1\n  port: 2\n', {}, /not valid YAML[\s\S]*unique/i);
    assertRefused('- a\n- b\n', {}, /must be a mapping of blocks/);
    assert.throws(
      () => loadConfig({ path: '/nonexistent/jwt-gate.yaml' }),
      /Cannot read the jwt-gate configuration file .*no such file/,
    );
  });

  it('loads the example-app YAML with its development defaults', () => {
    const config = loadConfig({ path: EXAMPLE_APP_YAML, env: {} });
    assert.equal(config.baseDir, resolve('example-app/conf'));
    assert.equal(config.jwtTokenConfiguration.rsaprivateKeyFilePath, './keys/private_key.der');
    assert.equal(config.jwtTokenConfiguration.rsapublicKeyFilePath, './keys/public_key.der');
    assert.equal(config.jwtTokenConfiguration.rsaprivateKey, undefined);
    assert.equal(config.authenticationConfiguration.provider, 'custom-oidc');
    assert.equal(config.authenticationConfiguration.authority, 'http://localhost:9090');
    assert.equal(config.authenticationConfiguration.clientId, 'jwt-gate-bots-page');
    assert.equal(config.authenticationConfiguration.publicKeyUrls[0], 'http://localhost:9090/jwks');
    assert.equal(config.authorizerConfiguration.principalDomain, 'example.com');
    assert.deepEqual(config.verificationConfiguration, DEFAULT_BLOCKS.verificationConfiguration);
    const overridden = loadConfig({
      path: EXAMPLE_APP_YAML,
      env: { RSA_PRIVATE_KEY: 'LS0tLS1CRUdJTg==', SERVER_PORT: '0' },
    });
    assert.equal(overridden.jwtTokenConfiguration.rsaprivateKey, 'LS0tLS1CRUdJTg==');
    assert.equal(overridden.server.port, 0);
  });
});

describe('resolveOptions', () => {
  it('applies the same fail-closed defaults, trusting no IdP until one is listed', () => {
    const config = resolveOptions({});
    assert.deepEqual(blocksOf(config), {
      ...EMPTY_FILE_BLOCKS,
      authenticationConfiguration: { ...EMPTY_FILE_BLOCKS.authenticationConfiguration, publicKeyUrls: [] },
    });
    assert.equal(config.baseDir, process.cwd());
    assert.equal(config.provenance.describe('server.port'), 'server.port');
  });

  it('gives the same result as the equivalent YAML', () => {
    const yaml = [
      'jwtTokenConfiguration:',
      '  rsaprivateKeyFilePath: ./keys/private.der',
      '  rsapublicKeyFilePath: ./keys/public.der',
      '  jwtissuer: https://api.example.com',
      '  keyId: k-2024',
      'authenticationConfiguration:',
      '  publicKeyUrls: [https://idp.example.com/jwks, {url: "https://b.example/jwks", issuer: b, audience: app, algorithms: [PS256]}]',
      '  jwtPrincipalClaims: ${CLAIMS:-[sub]}',
      'server:',
      '  port: ${PORT:-3000}',
      'verificationConfiguration:',
      '  cache: {enabled: false}',
    ].join('\n');
    const fromOptions = resolveOptions({
      jwtTokenConfiguration: {
        rsaprivateKeyFilePath: './keys/private.der',
        rsapublicKeyFilePath: './keys/public.der',
        jwtissuer: 'https://api.example.com',
        keyId: 'k-2024',
      },
      authenticationConfiguration: {
        publicKeyUrls: [
          'https://idp.example.com/jwks',
          { url: 'https://b.example/jwks', issuer: 'b', audience: 'app', algorithms: ['PS256'] },
        ],
        jwtPrincipalClaims: ['sub'],
      },
      server: { port: 3000 },
      verificationConfiguration: { cache: { enabled: false } },
    });
    assert.deepEqual(blocksOf(fromOptions), blocksOf(load(yaml)));
  });

  it('does not read the environment', () => {
    const saved = process.env.SERVER_PORT;
    process.env.SERVER_PORT = '1234';
    try {
      assert.equal(resolveOptions({}).server.port, 8585);
    } finally {
      if (saved === undefined) delete process.env.SERVER_PORT;
      else process.env.SERVER_PORT = saved;
    }
  });

  it('refuses bad options with the same messages', () => {
    assert.throws(
      () => resolveOptions({ server: { port: 70000 }, jwtTokenConfiguration: { jwtIssuer: 'x' } as never }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^Invalid jwt-gate configuration \(options\), 2 problems:/.test(error.message) &&
        /server\.port must be a port number from 0 to 65535/.test(error.message) &&
        /jwtTokenConfiguration\.jwtIssuer is not a known setting: did you mean `jwtissuer`\?/.test(
          error.message,
        ),
    );
  });

  it('accepts a loaded configuration back unchanged, keeping its provenance', () => {
    const loaded = load(REFERENCE_YAML, { JWT_KEY_ID: 'k9' });
    const again = resolveOptions(loaded);
    assert.deepEqual(blocksOf(again), blocksOf(loaded));
    assert.equal(
      again.provenance.describe('jwtTokenConfiguration.keyId'),
      'jwtTokenConfiguration.keyId (from environment variable JWT_KEY_ID)',
    );
  });
});
