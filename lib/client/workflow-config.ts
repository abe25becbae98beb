import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';

import { substituteEnv } from '../config/env-substitution.js';
import { formatPath, ProvenanceRecorder } from '../config/provenance.js';
import { ConfigError } from '../errors.js';
import { httpUrlProblem, plainHttpPolicy, stripTrailingSlashes } from './http-url.js';
import { expandHome, resolveTokenReference } from './token-reference.js';

/** The part of an ingestion workflow file that says how to reach and authenticate to the server. */
export interface WorkflowServerConfig {
  /** Base URL of the API, without trailing slash, e.g. `http://localhost:8585/api`. */
  hostPort: string;
  /** `allowInsecureHttp: true` in the YAML: plain http to a non-loopback `hostPort` is allowed. */
  allowInsecureHttp?: boolean;
  /** Always `openmetadata`: a bot JWT from Settings → Bots. */
  authProvider: 'openmetadata';
  /** The bot token. Never log it. */
  jwtToken: string;
  /** Absolute path of the file the token was read from; absent when the YAML holds the token. */
  tokenFile?: string;
  /** Where the token is configured, for messages: the YAML path, the env var that fed it, the file. */
  tokenSetting: string;
  /**
   * Absolute path of the DPoP key file the token is bound to (`securityConfig.dpopKeyFilePath`),
   * created on first use; absent when the token is sent as Bearer.
   */
  dpopKeyFile?: string;
  /** Where `dpopKeyFile` is configured, for messages. */
  dpopKeySetting?: string;
}

/** The authentication providers this client supports (the reference has more; they are SSO flows). */
export const SUPPORTED_AUTH_PROVIDERS = ['openmetadata'] as const;

const SERVER_CONFIG = ['workflowConfig', 'openMetadataServerConfig'] as const;
const HOST_PORT = [...SERVER_CONFIG, 'hostPort'];
const ALLOW_INSECURE_HTTP = [...SERVER_CONFIG, 'allowInsecureHttp'];
const AUTH_PROVIDER = [...SERVER_CONFIG, 'authProvider'];
const JWT_TOKEN = [...SERVER_CONFIG, 'securityConfig', 'jwtToken'];
const DPOP_KEY_FILE = [...SERVER_CONFIG, 'securityConfig', 'dpopKeyFilePath'];

const EXPECTED_SHAPE = `
  workflowConfig:
    openMetadataServerConfig:
      hostPort: http://localhost:8585/api
      authProvider: openmetadata
      securityConfig:
        jwtToken: <the token, or the path of a file holding it>`;

/**
 * Reads the server part of an ingestion workflow YAML in the reference's shape
 * (`workflowConfig.openMetadataServerConfig`); `source`, `sink` and the rest are ignored.
 * String values may use `${VAR}` and `${VAR:-default}`.
 *
 * `hostPort` must be https unless it is loopback (localhost, 127.0.0.0/8, [::1]):
 * every call carries the bot token. jwt-gate's own key `allowInsecureHttp: true` (or `"true"`,
 * e.g. from `${VAR:-false}`) beside `hostPort` allows plain http to other hosts, for a trusted
 * network only.
 *
 * `securityConfig.jwtToken` is the token itself when it looks like a compact JWT, otherwise the
 * path of a file holding it, relative to the workflow file's directory (`~` is the home directory).
 *
 * `securityConfig.dpopKeyFilePath` (jwt-gate's own key, optional) binds the token to a DPoP key
 * (RFC 9449): the path of its key file, resolved like a token file and created by the client on
 * first use with mode 0600 — e.g. `./dpop-key.json` next to `./ingestion-bot.token`. Empty or
 * absent: the token is sent as Bearer.
 *
 * @param path the workflow YAML.
 * @param env environment for `${VAR}`. Default `process.env`.
 * @throws ConfigError naming the YAML path (and the env var that fed it), never the token.
 * @example
 *   const client = createIngestionClient(loadWorkflowConfig('./workflow.yaml'));
 */
export function loadWorkflowConfig(path: string, env: NodeJS.ProcessEnv = process.env): WorkflowServerConfig {
  const file = resolve(path);
  const tree = readYaml(file);
  const provenance = new ProvenanceRecorder();
  const substituted = substituteEnv(tree, env, provenance);
  // Only our block matters: a bad expression in `source:` is the ingestion framework's business.
  const problem = substituted.problems.find((p) => p.path[0] === SERVER_CONFIG[0]);
  if (problem !== undefined) {
    fail(file, `${provenance.describe(formatPath(problem.path))} ${problem.message}`);
  }
  const describe = (at: readonly string[]): string => provenance.describe(formatPath(at));

  const server = lookup(substituted.tree, SERVER_CONFIG);
  if (server === undefined || server === null || typeof server !== 'object' || Array.isArray(server)) {
    fail(
      file,
      `${formatPath(SERVER_CONFIG)} is missing or not a mapping; a workflow file needs:${EXPECTED_SHAPE}`,
    );
  }

  const hostPort = lookup(substituted.tree, HOST_PORT);
  if (typeof hostPort !== 'string' || hostPort.trim() === '') {
    fail(
      file,
      `${describe(HOST_PORT)} is missing: set it to the server's API URL, e.g. http://localhost:8585/api`,
    );
  }
  const allowSetting = lookup(substituted.tree, ALLOW_INSECURE_HTTP);
  const allowInsecureHttp = readFlag(allowSetting);
  if (allowInsecureHttp === null) {
    const got =
      typeof allowSetting === 'string' || typeof allowSetting === 'number'
        ? JSON.stringify(allowSetting)
        : 'a list or mapping';
    fail(file, `${describe(ALLOW_INSECURE_HTTP)} must be true or false (or left out: false), got ${got}`);
  }
  const plainHttp = plainHttpPolicy(allowInsecureHttp, formatPath(ALLOW_INSECURE_HTTP));
  const urlProblem = httpUrlProblem(hostPort.trim(), 'http://localhost:8585/api', plainHttp);
  if (urlProblem !== undefined) fail(file, `${describe(HOST_PORT)} ${urlProblem}`);

  const authProvider = lookup(substituted.tree, AUTH_PROVIDER);
  if (authProvider !== 'openmetadata') {
    const got = typeof authProvider === 'string' ? `"${authProvider}"` : 'nothing';
    fail(
      file,
      `${describe(AUTH_PROVIDER)} must be one of: ${SUPPORTED_AUTH_PROVIDERS.join(', ')} (a bot JWT from ` +
        `Settings → Bots), got ${got}. Set authProvider: openmetadata and put the bot's token in ` +
        `${formatPath(JWT_TOKEN)}.`,
    );
  }

  const jwtToken = lookup(substituted.tree, JWT_TOKEN);
  if (typeof jwtToken !== 'string' || jwtToken.trim() === '') {
    fail(
      file,
      `${describe(JWT_TOKEN)} is missing: generate a token for the bot in Settings → Bots and put the token, ` +
        'or the path of a file holding it, there.',
    );
  }
  let resolved: ReturnType<typeof resolveTokenReference>;
  try {
    resolved = resolveTokenReference(jwtToken, dirname(file), describe(JWT_TOKEN));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`Invalid workflow file ${file}: ${error.message}`, { cause: error });
  }
  const { token, tokenFile } = resolved;
  const setting = `${describe(JWT_TOKEN)} in ${file}`;
  const dpopKeyPath = lookup(substituted.tree, DPOP_KEY_FILE);
  if (dpopKeyPath !== undefined && dpopKeyPath !== null && typeof dpopKeyPath !== 'string') {
    fail(file, `${describe(DPOP_KEY_FILE)} must be the path of a DPoP key file (or empty: Bearer)`);
  }
  const dpopKeyFile =
    typeof dpopKeyPath === 'string' && dpopKeyPath.trim() !== ''
      ? resolve(dirname(file), expandHome(dpopKeyPath.trim()))
      : undefined;
  return {
    hostPort: stripTrailingSlashes(hostPort.trim()),
    ...(allowInsecureHttp === true ? { allowInsecureHttp } : {}),
    authProvider: 'openmetadata',
    jwtToken: token,
    ...(tokenFile === undefined ? {} : { tokenFile }),
    tokenSetting: tokenFile === undefined ? setting : `the token file ${tokenFile} (${setting})`,
    ...(dpopKeyFile === undefined
      ? {}
      : { dpopKeyFile, dpopKeySetting: `${describe(DPOP_KEY_FILE)} in ${file}` }),
  };
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`Cannot read the workflow file ${file}: ${code}.`, { cause: error });
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, merge: false });
  if (document.errors.length > 0) {
    fail(file, `not valid YAML:\n${document.errors.map((error) => error.message.trim()).join('\n')}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw new ConfigError(`Invalid workflow file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** A YAML flag: a boolean, or `true`/`false` as text (from `${VAR}`); undefined when absent, null when neither. */
function readFlag(value: unknown): boolean | undefined | null {
  if (value === undefined || value === null || typeof value === 'boolean') return value ?? undefined;
  if (typeof value !== 'string') return null;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' || text === '' ? false : null;
}

function lookup(tree: unknown, path: readonly string[]): unknown {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function fail(file: string, message: string): never {
  throw new ConfigError(`Invalid workflow file ${file}: ${message}`);
}
