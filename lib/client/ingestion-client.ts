import { ConfigError } from '../errors.js';
import { IngestionAuthError, IngestionRequestError } from './client-errors.js';
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
}

export interface IngestionClientOptions {
  /** Per-request timeout, ms. Default 30000. */
  timeoutMs?: number;
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
  /**
   * Sends `body` as JSON to `hostPort + path` with `Authorization: Bearer <token>`.
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
 * @throws ConfigError at creation, before any request, for an unusable `hostPort` (plain http to
 *   a non-loopback host included) or a value that is not a JWT.
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
        return await sendJson({ method: verb, url, token, body, timeoutMs });
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
    if (response.status === 401) {
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
    if (response.status === 401) {
      throw new IngestionAuthError(
        401,
        serverMessage,
        `${verb} ${url} was refused with 401 Unauthorized${said}. The bot token from ${tokenSetting} was ` +
          `rejected (revoked, replaced, expired or not trusted by this server).${note === '' ? '' : ` ${note}`} ` +
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
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    delete: (path) => request('DELETE', path),
  };
}
