/**
 * The hardened HTTP GET behind every remote key source: one request, no redirects, a deadline
 * that covers connecting *and* reading the whole body, and a byte cap enforced while streaming
 * (a missing or lying `Content-Length` does not help an attacker). Uses node:http/https directly
 * so none of this depends on a library's defaults.
 */
import http from 'node:http';
import https from 'node:https';

/** Limits of one JWKS request. */
export interface JwksFetchLimits {
  /** Deadline for the whole exchange (connect, headers, body), ms. */
  timeoutMs: number;
  /** Largest body accepted, bytes; the request is aborted as soon as it is exceeded. */
  maxResponseBytes: number;
}

/** What a successful fetch yields: the JWKS `keys` array (unvalidated entries) and caching hints. */
export interface JwksResponse {
  keys: unknown[];
  /** The raw `Cache-Control` header, if any. */
  cacheControl: string | undefined;
}

/**
 * GETs `url` and returns its JWKS. Rejects with an `Error` whose message names the URL and what
 * went wrong (timeout, size, redirect, status, not JSON, not a JWKS, network error).
 */
export function fetchJwks(url: URL, limits: JwksFetchLimits, signal?: AbortSignal): Promise<JwksResponse> {
  const where = `the key server at ${url.href}`;
  return new Promise<JwksResponse>((resolve, reject) => {
    let settled = false;
    const client = url.protocol === 'https:' ? https : http;
    // `agent: false`: a private connection per fetch, so one slow source can never hold sockets
    // that another source (or the application) needs. Fetches are rare; keep-alive buys nothing.
    const req = client.request(url, {
      method: 'GET',
      agent: false,
      headers: { accept: 'application/json, application/jwk-set+json', 'accept-encoding': 'identity' },
    });

    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(new Error(message, cause === undefined ? undefined : { cause }));
    };
    const succeed = (value: JwksResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = (): void => fail(`the request to ${where} was cancelled`);

    const timer = setTimeout(
      () => fail(`${where} did not answer within ${limits.timeoutMs} ms`),
      limits.timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    req.on('error', (err) => fail(`${where} could not be reached (${describeNetworkError(err)})`, err));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        // Never follow: a redirect could point key fetching anywhere (SSRF, an attacker's keys).
        const location = typeof res.headers.location === 'string' ? ` to ${res.headers.location}` : '';
        return fail(`${where} answered ${status} (a redirect${location}); redirects are not followed`);
      }
      if (status !== 200) return fail(`${where} answered ${status}`);

      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > limits.maxResponseBytes) {
        return fail(`${where} sent ${declared} bytes, more than the limit of ${limits.maxResponseBytes}`);
      }

      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limits.maxResponseBytes) {
          return fail(`${where} sent more than the limit of ${limits.maxResponseBytes} bytes`);
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => fail(`${where} broke off the response (${describeNetworkError(err)})`, err));
      res.on('end', () => {
        if (settled) return;
        const parsed = parseJwks(Buffer.concat(chunks, received).toString('utf8'), where);
        if (typeof parsed === 'string') return fail(parsed);
        succeed({ keys: parsed, cacheControl: headerValue(res.headers['cache-control']) });
      });
    });
    req.end();
  });
}

/** The `keys` array, or a message saying why the body is not a JWKS. */
function parseJwks(text: string, where: string): unknown[] | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${where} did not answer JSON`;
  }
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) {
    return `${where} did not answer a JWKS (a JSON object with a "keys" array)`;
  }
  return (body as { keys: unknown[] }).keys;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function describeNetworkError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ?? err.message;
}
