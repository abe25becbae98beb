import type { AirflowConfiguration, ConfigProvenance } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { PipelineServiceError } from './client-errors.js';
import { dpopBindingFor, isNonceChallenge } from './dpop-binding.js';
import type { DpopKey } from './dpop-key.js';
import { httpUrlProblem, joinUrl, plainHttpPolicy, stripTrailingSlashes } from './http-url.js';
import { checkMethod, checkTimeout, sendJson, serverMessageOf, TransportFailure } from './send-json.js';
import { looksLikeCompactJws } from './token-reference.js';

/**
 * The pipeline-service routes, as the reference's Airflow plugin (openmetadata-managed-apis)
 * names them, relative to `airflowConfiguration.apiEndpoint`. `<name>` is URL-encoded.
 */
export const PIPELINE_SERVICE_PATHS = {
  /** `POST` — body: the pipeline definition, with its `name`. */
  deploy: '/api/v1/openmetadata/deploy',
  /** `POST /api/v1/openmetadata/trigger/<name>` — run the pipeline now. */
  trigger: '/api/v1/openmetadata/trigger',
  /** `GET /api/v1/openmetadata/status/<name>` — the pipeline's recent runs. */
  status: '/api/v1/openmetadata/status',
  /** `GET` — the service's own health. */
  health: '/api/v1/openmetadata/health',
} as const;

/** The reference's shipped placeholder for `OM_AUTH_JWT_TOKEN`: a token that was never set. */
export const PLACEHOLDER_BOT_TOKEN = '<JWT_TOKEN_FROM_UI_SETTINGS_BOTS>';

export interface PipelineServiceClientOptions {
  /**
   * Supplies the bot token per request (e.g. a freshly minted `ingestion-bot` token); when given,
   * `authConfig.openmetadata.jwtToken` is not used. Default: that configured token.
   */
  tokenProvider?: () => string | Promise<string>;
  /** Per-request timeout, ms. Default 30000. */
  timeoutMs?: number;
  /** `config.provenance`, so messages name the environment variable behind a bad value. */
  provenance?: ConfigProvenance;
  /**
   * The directory a relative `authConfig.openmetadata.dpopKeyFilePath` is resolved against: pass
   * `config.baseDir` (the YAML's directory), as for every other path in the configuration.
   * Default: the working directory.
   */
  baseDir?: string;
  /**
   * The DPoP key (RFC 9449) the bot token is bound to: a `DpopKey`, or the path of its key file
   * (relative to the working directory), created on first use with mode 0600. Every call then
   * carries `Authorization: DPoP <token>` and a fresh `DPoP` proof. Default:
   * `authConfig.openmetadata.dpopKeyFilePath` (env `OM_DPOP_KEY_FILE`); empty: Bearer.
   */
  dpopKey?: DpopKey | string;
}

/** The answer of a 2xx call. Non-2xx answers throw `PipelineServiceError`. */
export interface PipelineServiceResponse {
  status: number;
  body: unknown;
}

/** How the server calls its pipeline service with a bot token. */
export interface PipelineServiceClient {
  /** Base URL (`airflowConfiguration.apiEndpoint`, without trailing slash). */
  readonly apiEndpoint: string;
  /** The RFC 7638 thumbprint of the DPoP key (the `dpopJkt` to mint tokens with); undefined for Bearer. */
  readonly dpopJkt: string | undefined;
  /** Sends `body` as JSON to `apiEndpoint + path` with the bot token. */
  request(method: string, path: string, body?: unknown): Promise<PipelineServiceResponse>;
  /** `POST /api/v1/openmetadata/deploy` with `{ ...pipeline, name }`. Resolves to the response body. */
  deployPipeline(name: string, pipeline: Record<string, unknown>): Promise<unknown>;
  /** `POST /api/v1/openmetadata/trigger/<name>`. Resolves to the response body. */
  triggerPipeline(name: string): Promise<unknown>;
  /** `GET /api/v1/openmetadata/status/<name>`. Resolves to the response body. */
  pipelineStatus(name: string): Promise<unknown>;
  /** `GET /api/v1/openmetadata/health`: whether the service is up. Resolves to the response body. */
  status(): Promise<unknown>;
}

const FIELD = {
  apiEndpoint: 'airflowConfiguration.apiEndpoint',
  allowInsecureHttp: 'airflowConfiguration.allowInsecureHttp',
  authProvider: 'airflowConfiguration.authProvider',
  jwtToken: 'airflowConfiguration.authConfig.openmetadata.jwtToken',
  dpopKeyFilePath: 'airflowConfiguration.authConfig.openmetadata.dpopKeyFilePath',
} as const;

const GENERATE_TOKEN = 'generate a token for ingestion-bot in Settings → Bots and set OM_AUTH_JWT_TOKEN';

/**
 * Creates the pipeline-service client. Everything is checked here, at start-up: the endpoint is
 * an absolute http(s) URL, https unless it is loopback or `allowInsecureHttp` is true (every call
 * carries a bot token), `authProvider` is `openmetadata`, and (without a `tokenProvider`) the
 * configured token is a real JWT — not empty and not the reference's placeholder. A DPoP key file
 * is loaded (or created) here too; with it every call sends a fresh proof, and a 401
 * `use_dpop_nonce` is retried once with the server's new nonce.
 *
 * @throws ConfigError naming the field (and the env var that fed it).
 * @example
 *   const pipelines = createPipelineServiceClient(config.airflowConfiguration, {
 *     tokenProvider: async () => (await gate.bots.generateToken('ingestion-bot', 'OneHour', 'system')).JWTToken,
 *   });
 *   await pipelines.triggerPipeline('sample_data');
 */
export function createPipelineServiceClient(
  airflow: AirflowConfiguration,
  opts: PipelineServiceClientOptions = {},
): PipelineServiceClient {
  const describe = (field: string): string => opts.provenance?.describe(field) ?? field;
  const timeoutMs = checkTimeout(opts.timeoutMs);
  const plainHttp = plainHttpPolicy(
    airflow.allowInsecureHttp,
    FIELD.allowInsecureHttp,
    'AIRFLOW_ALLOW_INSECURE_HTTP',
  );
  const urlProblem = httpUrlProblem(airflow.apiEndpoint, 'http://localhost:8080', plainHttp);
  if (urlProblem !== undefined) throw new ConfigError(`${describe(FIELD.apiEndpoint)} ${urlProblem}`);
  const apiEndpoint = stripTrailingSlashes(airflow.apiEndpoint);
  if (airflow.authProvider !== 'openmetadata') {
    throw new ConfigError(
      `${describe(FIELD.authProvider)} must be openmetadata (the server calls its pipeline service with a bot ` +
        `JWT; no other provider is supported), got "${airflow.authProvider}". Set AIRFLOW_AUTH_PROVIDER=openmetadata.`,
    );
  }
  const tokenProvider = opts.tokenProvider;
  let staticToken: string | undefined;
  if (tokenProvider === undefined) {
    const problem = botTokenProblem(airflow.authConfig.openmetadata.jwtToken);
    if (problem !== undefined)
      throw new ConfigError(`${describe(FIELD.jwtToken)} ${problem}: ${GENERATE_TOKEN}.`);
    staticToken = airflow.authConfig.openmetadata.jwtToken.trim();
  }
  const dpop =
    opts.dpopKey !== undefined
      ? dpopBindingFor(opts.dpopKey, process.cwd(), 'the dpopKey given to createPipelineServiceClient()')
      : dpopBindingFor(
          airflow.authConfig.openmetadata.dpopKeyFilePath,
          opts.baseDir ?? process.cwd(),
          opts.provenance?.describe(FIELD.dpopKeyFilePath) ??
            `${FIELD.dpopKeyFilePath} (env OM_DPOP_KEY_FILE)`,
        );

  const botToken = async (): Promise<string> => {
    if (staticToken !== undefined) return staticToken;
    let token: string;
    try {
      token = await tokenProvider!();
    } catch (error) {
      throw new PipelineServiceError(
        undefined,
        undefined,
        `Could not obtain a bot token for the pipeline service: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const problem = botTokenProblem(token);
    if (problem !== undefined) {
      throw new PipelineServiceError(undefined, undefined, `The tokenProvider's bot token ${problem}.`);
    }
    return token.trim();
  };

  const request = async (method: string, path: string, body?: unknown): Promise<PipelineServiceResponse> => {
    const verb = checkMethod(method);
    const url = joinUrl(apiEndpoint, path);
    const token = await botToken();
    let response;
    try {
      response = await sendJson({
        method: verb,
        url,
        token,
        body,
        timeoutMs,
        ...(dpop === undefined ? {} : { dpop }),
      });
    } catch (error) {
      if (!(error instanceof TransportFailure)) throw error;
      throw new PipelineServiceError(
        undefined,
        undefined,
        `Could not reach the pipeline service: ${verb} ${url} failed: ${error.message}. Check that it is ` +
          `running and that ${describe(FIELD.apiEndpoint)} (AIRFLOW_HOST) is right.`,
        { cause: error },
      );
    }
    if (response.status >= 200 && response.status < 300)
      return { status: response.status, body: response.body };
    const serverMessage = serverMessageOf(response, token);
    const said = serverMessage === undefined ? '' : `: "${serverMessage}"`;
    let message = `The pipeline service answered ${verb} ${url} with ${response.status}${said}.`;
    if (dpop !== undefined && isNonceChallenge(response.status, response.headers)) {
      message =
        `The pipeline service refused ${verb} ${url} with 401${said}: it still asks for a DPoP nonce ` +
        '(use_dpop_nonce) after one retry with the nonce it sent, or sent none (DPoP-Nonce). Check that ' +
        'every instance of the pipeline service shares its DPoP nonces.';
    } else if (response.status === 401) {
      const fix =
        tokenProvider === undefined
          ? `${GENERATE_TOKEN} (${describe(FIELD.jwtToken)}), then restart the server`
          : 'the token was minted just now, so check that the pipeline service trusts this server: it must ' +
            `verify tokens with this server's JWKS (${stripTrailingSlashes(airflow.metadataApiEndpoint)}/v1/config/jwks)`;
      message =
        `The pipeline service rejected the bot token (${verb} ${url} → 401${said}): the token is revoked, ` +
        `expired or not trusted by the pipeline service. To fix it, ${fix}.` +
        (dpop === undefined
          ? ''
          : ` The token was sent DPoP-bound to ${dpop.describe()}: it must have been minted for that key (dpopJkt).`);
    } else if (response.status >= 300 && response.status < 400) {
      message += ` Redirects are not followed, so the token is never sent elsewhere: set ${FIELD.apiEndpoint} to the final URL.`;
    }
    throw new PipelineServiceError(response.status, serverMessage, message);
  };

  const bodyOf = async (method: string, path: string, body?: unknown): Promise<unknown> =>
    (await request(method, path, body)).body;

  return {
    apiEndpoint,
    dpopJkt: dpop?.key.jkt,
    request,
    deployPipeline: async (name, pipeline) =>
      await bodyOf('POST', PIPELINE_SERVICE_PATHS.deploy, { ...pipeline, name: checkName(name) }),
    triggerPipeline: async (name) =>
      await bodyOf('POST', `${PIPELINE_SERVICE_PATHS.trigger}/${encodedName(name)}`),
    pipelineStatus: async (name) =>
      await bodyOf('GET', `${PIPELINE_SERVICE_PATHS.status}/${encodedName(name)}`),
    status: async () => await bodyOf('GET', PIPELINE_SERVICE_PATHS.health),
  };
}

/** Why a bot token value cannot be used (never quoting it), or undefined. */
function botTokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string' || token.trim() === '') return 'is empty';
  if (token.trim() === PLACEHOLDER_BOT_TOKEN) return `is still the placeholder ${PLACEHOLDER_BOT_TOKEN}`;
  if (!looksLikeCompactJws(token.trim())) return 'is not a JWT (three base64url parts separated by dots)';
  return undefined;
}

function checkName(name: string): string {
  if (typeof name !== 'string' || name.trim() === '')
    throw new TypeError('A pipeline name must be a non-empty string');
  return name;
}

function encodedName(name: string): string {
  return encodeURIComponent(checkName(name));
}
