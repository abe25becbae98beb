/**
 * One JSON call with a bearer or DPoP-bound token over global `fetch`: the transport both clients
 * share. It does not throw on HTTP statuses; callers decide what a status means for them. Its only
 * retry is DPoP's: once, when the server asks for a new nonce (RFC 9449 §8).
 */
import { type DpopBinding, isNonceChallenge } from './dpop-binding.js';

export interface SendJsonRequest {
  method: string;
  url: string;
  /** Sent as `Authorization: Bearer <token>`, or `DPoP <token>` with `dpop`. */
  token: string;
  /** Bind the token to this key: a fresh `DPoP` proof per request. Default: Bearer. */
  dpop?: DpopBinding;
  /** JSON-serialised when not `undefined`. */
  body?: unknown;
  /** Give up after this long, ms. */
  timeoutMs: number;
}

export interface JsonResponse {
  status: number;
  /** Parsed JSON; the raw text when the body is not JSON; `null` when empty. */
  body: unknown;
  headers: Headers;
}

/** No response arrived: timeout, refused connection, DNS failure. The message says which. */
export class TransportFailure extends Error {}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

/** Default timeout of both clients, ms. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Checks a `timeoutMs` option: a positive, finite number of milliseconds. */
export function checkTimeout(timeoutMs: number | undefined): number {
  const value = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
  return value;
}

/** Upper-cases and checks an HTTP method. */
export function checkMethod(method: string): string {
  const upper = method.toUpperCase();
  if (!METHODS.has(upper))
    throw new TypeError(`Unsupported HTTP method "${method}": use one of ${[...METHODS].join(', ')}`);
  return upper;
}

/**
 * Sends the request. Redirects are not followed (`redirect: 'manual'`): a 3xx is returned as is,
 * so the token is never replayed to a host the caller did not configure.
 *
 * With `dpop`, each attempt carries a new proof for this method and URL. A 401 `use_dpop_nonce`
 * that brings a nonce other than the one just sent is retried once with it; any second answer,
 * a second challenge included, is returned as is: never a loop.
 * @throws TransportFailure when no response arrives within `timeoutMs`.
 */
export async function sendJson(request: SendJsonRequest): Promise<JsonResponse> {
  const dpop = request.dpop;
  if (dpop === undefined) return await sendOnce(request, { Authorization: `Bearer ${request.token}` });
  const first = dpop.headersFor(request.method, request.url, request.token);
  const response = await sendOnce(request, first.headers);
  dpop.remember(response.headers);
  if (
    !isNonceChallenge(response.status, response.headers) ||
    dpop.nonce === undefined ||
    dpop.nonce === first.nonce
  ) {
    return response;
  }
  const retry = await sendOnce(request, dpop.headersFor(request.method, request.url, request.token).headers);
  dpop.remember(retry.headers);
  return retry;
}

async function sendOnce(request: SendJsonRequest, auth: Record<string, string>): Promise<JsonResponse> {
  const headers: Record<string, string> = { Accept: 'application/json', ...auth };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    const signal = AbortSignal.timeout(request.timeoutMs);
    response = await fetch(request.url, {
      method: request.method,
      headers,
      body: request.body === undefined ? null : JSON.stringify(request.body),
      redirect: 'manual',
      signal,
    });
    text = await response.text();
  } catch (error) {
    throw new TransportFailure(describeTransportError(error, request.timeoutMs), { cause: error });
  }
  return { status: response.status, body: parseBody(text), headers: response.headers };
}

/**
 * The server's explanation of a failure: the body's `message` (OpenMetadata's `{"code","message"}`),
 * else the `WWW-Authenticate` `error_description` (RFC 6750 §3), else a short text body. Any
 * occurrence of `token` is masked, in case a server echoes it; long text is clipped.
 */
export function serverMessageOf(response: JsonResponse, token: string): string | undefined {
  const body = response.body;
  let message: string | undefined;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    const candidate = fields['message'] ?? fields['error_description'] ?? fields['error'];
    if (typeof candidate === 'string') message = candidate;
  }
  message ??= errorDescriptionOf(response.headers.get('www-authenticate'));
  if (message === undefined && typeof body === 'string' && body.trim() !== '') message = body.trim();
  if (message === undefined) return undefined;
  const masked = token === '' ? message : message.split(token).join('[token]');
  const oneLine = masked.replace(/\s+/g, ' ');
  return oneLine.length > 300 ? `${oneLine.slice(0, 297)}...` : oneLine;
}

/** `Bearer realm="x", error="invalid_token", error_description="Token has expired"` → `Token has expired`. */
function errorDescriptionOf(header: string | null): string | undefined {
  const match = header === null ? null : /error_description="((?:[^"\\]|\\.)*)"/.exec(header);
  return match?.[1]?.replace(/\\(.)/g, '$1');
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describeTransportError(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return `the connection failed (${cause.code})`;
  if (typeof cause?.message === 'string') return `the connection failed (${cause.message})`;
  return `the connection failed (${(error as Error | undefined)?.message ?? String(error)})`;
}
