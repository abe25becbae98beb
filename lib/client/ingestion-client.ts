import { ConfigError } from '../errors.js';
import { IngestionAuthError, IngestionRequestError } from './client-errors.js';
import { dpopBindingFor, isNonceChallenge } from './dpop-binding.js';
import type { DpopKey } from './dpop-key.js';
import { httpUrlProblem, joinUrl, plainHttpPolicy, stripTrailingSlashes } from './http-url.js';
import {
  checkMethod,
  checkTimeout,
  type JsonResponse,
  sendJson,
  serverMessageOf,
  TransportFailure,
} from './send-json.js';
import { looksLikeCompactJws, readTokenFile } from './token-reference.js';
import type { WorkflowServerConfig } from './workflow-config.js';

/** A server config given directly rather than loaded from a workflow file. */
export interface IngestionServerOptions {
  /**
   * Base URL of the API, e.g. `http://localhost:8585/api`. Plain http only to loopback (localhost,
   * 127.0.0.0/8, [::1]) unless `allowInsecureHttp`; use https for any other host.
   */
  hostPort: string;
  /**
   * Allow plain http to a non-loopback `hostPort`. The bot token then crosses the network
   * unencrypted: only for a network you trust. Default `false`.
   */
  allowInsecureHttp?: boolean;
  /** The bot token (a compact JWT). */
  jwtToken: string;
  /** The file `jwtToken` was read from: re-read once when the server answers 401. */
  tokenFile?: string;
  /** The DPoP key file the token is bound to (see `IngestionClientOptions.dpopKey`). Default: none. */
  dpopKeyFile?: string;
}

export interface IngestionClientOptions {
  /** Per-request timeout, ms. Default 30000. */
  timeoutMs?: number;
  /**
   * The DPoP key (RFC 9449) the bot token is bound to: a `DpopKey`, or the path of its key file
   * (relative to the working directory, `~` the home directory), created on first use with mode
   * 0600. Every request then carries `Authorization: DPoP <token>` and a fresh `DPoP` proof.
   * Default: the config's `dpopKeyFile`; without either, the token is sent as Bearer.
   */
  dpopKey?: DpopKey | string;
}

/** A 2xx answer. Non-2xx answers throw. */
export interface IngestionResponse {
  status: number;
  /** Parsed JSON; the raw text when the body is not JSON; `null` when empty. */
  body: unknown;
}

/** What an ingestion job uses to call a jwt-gate protected API with its bot token. */
export interface IngestionClient {
  /** The base URL every path is appended to. */
  readonly hostPort: string;
  /** The RFC 7638 thumbprint of the DPoP key (the `dpopJkt` to mint the token with); undefined for Bearer. */
  readonly dpopJkt: string | undefined;
  /**
   * Sends `body` as JSON to `hostPort + path` with `Authorization: Bearer <token>` (or `DPoP <token>`
   * and a proof, with a DPoP key).
   * @throws IngestionAuthError on 401 (after one re-read of the token file, if any);
   *   IngestionRequestError on any other non-2xx, a redirect, a timeout or no connection.
   */
  request(method: string, path: string, body?: unknown): Promise<IngestionResponse>;
  get(path: string): Promise<IngestionResponse>;
  post(path: string, body?: unknown): Promise<IngestionResponse>;
  put(path: string, body?: unknown): Promise<IngestionResponse>;
  delete(path: string): Promise<IngestionResponse>;
}

/**
 * Creates the client of an ingestion job. `hostPort` must be https unless it is loopback or
 * `allowInsecureHttp` is true, so the bot token is never sent in the clear by mistake. When the
 * token came from a file and the server answers 401, the file is re-read once and, if it now
 * holds another token, the request is retried once with it (and that token is kept) — so
 * rotating a bot's token needs no restart of the job. The reference reads the file once and
 * fails until restarted.
 *
 * With a DPoP key (`options.dpopKey` or the config's `dpopKeyFile`) the token is sent as
 * `Authorization: DPoP <token>` with a new proof for each request (method and URL, `ath` of the
 * token), the server's `DPoP-Nonce` is kept for later proofs, and a 401 `use_dpop_nonce` is
 * retried once with the new nonce. A copied token is then useless without the key file.
 *
 * @throws ConfigError at creation, before any request, for an unusable `hostPort` (plain http to
 *   a non-loopback host included), a value that is not a JWT, or an unusable DPoP key file.
 * @example
 *   const client = createIngestionClient(loadWorkflowConfig('./workflow.yaml'));
 *   await client.post('/v1/tables', { name: 'orders', columns: [] });
 */
export function createIngestionClient(
  config: WorkflowServerConfig | IngestionServerOptions,
  options: IngestionClientOptions = {},
): IngestionClient {
  const timeoutMs = checkTimeout(options.timeoutMs);
  const plainHttp = plainHttpPolicy(config.allowInsecureHttp, 'allowInsecureHttp');
  const urlProblem = httpUrlProblem(config.hostPort, 'http://localhost:8585/api', plainHttp);
  if (urlProblem !== undefined) throw new ConfigError(`hostPort ${urlProblem}`);
  const hostPort = stripTrailingSlashes(config.hostPort);
  const tokenFile = config.tokenFile;
  const tokenSetting =
    'tokenSetting' in config
      ? config.tokenSetting
      : tokenFile === undefined
        ? 'the jwtToken given to createIngestionClient()'
        : `the token file ${tokenFile}`;
  if (typeof config.jwtToken !== 'string' || !looksLikeCompactJws(config.jwtToken.trim())) {
    throw new ConfigError(`${tokenSetting} is not a JWT: generate a token for the bot in Settings → Bots.`);
  }
  let currentToken = config.jwtToken.trim();
  const dpop =
    options.dpopKey !== undefined
      ? dpopBindingFor(options.dpopKey, process.cwd(), 'the dpopKey given to createIngestionClient()')
      : dpopBindingFor(
          config.dpopKeyFile,
          process.cwd(),
          ('dpopKeySetting' in config ? config.dpopKeySetting : undefined) ??
            'the dpopKeyFile given to createIngestionClient()',
        );

  /** A token other than `rejected` to retry with, or why there is none. */
  const replacementFor = (rejected: string): { token?: string; note: string } => {
    if (tokenFile === undefined) return { note: 'The token is inline, so there is nothing to re-read.' };
    // A concurrent request may have re-read the file already.
    if (currentToken !== rejected) return { token: currentToken, note: '' };
    try {
      const fresh = readTokenFile(tokenFile, tokenSetting);
      if (fresh === rejected) return { note: `Re-reading ${tokenFile} gave the same token.` };
      currentToken = fresh;
      return { token: fresh, note: `The token re-read from ${tokenFile} was refused too.` };
    } catch (error) {
      return { note: `Re-reading the token file failed: ${(error as Error).message}` };
    }
  };

  const request = async (method: string, path: string, body?: unknown): Promise<IngestionResponse> => {
    const verb = checkMethod(method);
    const url = joinUrl(hostPort, path);
    const send = async (token: string): Promise<JsonResponse> => {
      try {
        return await sendJson({
          method: verb,
          url,
          token,
          body,
          timeoutMs,
          ...(dpop === undefined ? {} : { dpop }),
        });
      } catch (error) {
        if (!(error instanceof TransportFailure)) throw error;
        throw new IngestionRequestError(
          undefined,
          undefined,
          `${verb} ${url} failed: ${error.message}. Check that the server is running and that hostPort ` +
            `(${hostPort}) is right.`,
          { cause: error },
        );
      }
    };

    let token = currentToken;
    let response = await send(token);
    let note = '';
    // Still a nonce challenge after sendJson's one retry: the token is not the problem, so keep it.
    const nonceRefused = dpop !== undefined && isNonceChallenge(response.status, response.headers);
    if (response.status === 401 && !nonceRefused) {
      const replacement = replacementFor(token);
      note = replacement.note;
      if (replacement.token !== undefined) {
        token = replacement.token;
        response = await send(token);
      }
    }
    if (response.status >= 200 && response.status < 300)
      return { status: response.status, body: response.body };

    const serverMessage = serverMessageOf(response, token);
    const said = serverMessage === undefined ? '' : `: "${serverMessage}"`;
    if (nonceRefused) {
      throw new IngestionAuthError(
        401,
        serverMessage,
        `${verb} ${url} was refused with 401 Unauthorized${said}: the server still asks for a DPoP nonce ` +
          '(use_dpop_nonce) after one retry with the nonce it sent, or sent none (DPoP-Nonce). Check that ' +
          `every instance behind ${hostPort} shares its DPoP nonces, then try again.`,
      );
    }
    const boundNote =
      dpop === undefined
        ? errorCodeOf(response) === 'ERR_TOKEN_DPOP_REQUIRED'
          ? ' The token is bound to a key (DPoP): set securityConfig.dpopKeyFilePath (OM_DPOP_KEY_FILE) to ' +
            'the key file it was minted for; it is sent with a proof of that key, never alone.'
          : ''
        : ` The token was sent DPoP-bound to ${dpop.describe()}: it must have been minted for that key ` +
          '(dpopJkt), and a token minted for another key, or unbound, is refused.';
    if (response.status === 401) {
      throw new IngestionAuthError(
        401,
        serverMessage,
        `${verb} ${url} was refused with 401 Unauthorized${said}. The bot token from ${tokenSetting} was ` +
          `rejected (revoked, replaced, expired or not trusted by this server).${note === '' ? '' : ` ${note}`}${boundNote} ` +
          `Generate a new token in Settings → Bots and update ${tokenFile ?? tokenSetting}.`,
      );
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location') ?? 'an unnamed location';
      throw new IngestionRequestError(
        response.status,
        serverMessage,
        `${verb} ${url} answered with a redirect (${response.status}) to ${location}. Redirects are not ` +
          'followed, so the token is never sent elsewhere: set hostPort to the final URL.',
      );
    }
    throw new IngestionRequestError(
      response.status,
      serverMessage,
      `${verb} ${url} failed with ${response.status}${said}.`,
    );
  };

  return {
    hostPort,
    dpopJkt: dpop?.key.jkt,
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    delete: (path) => request('DELETE', path),
  };
}

/** The `errorCode` of a jwt-gate JSON error body, if it has one. */
function errorCodeOf(response: JsonResponse): string | undefined {
  const body = response.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const code = (body as Record<string, unknown>).errorCode;
  return typeof code === 'string' ? code : undefined;
}
