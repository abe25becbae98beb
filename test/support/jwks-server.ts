/**
 * A real JWKS HTTP server on 127.0.0.1 (port 0) for tests: serves a settable JWKS, counts the
 * requests it receives, and can misbehave on demand (slow, huge, invalid, an error status, a
 * redirect, down) — the ways real key servers fail.
 *
 *   const jwks = await startJwksServer({ keys: { keys: [publicJwk(publicKey, { kid: 'k1' })] } });
 *   // … new RemoteJwksSource({ url: jwks.jwksUri, … })
 *   jwks.setBehaviour({ type: 'status', status: 500 });
 *   await jwks.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** How the server answers the JWKS path. Anything but `ok` simulates a failing key server. */
export type JwksServerBehaviour =
  /** 200 with the current JWKS. */
  | { type: 'ok' }
  /** Waits `delayMs` before the headers (`phase: 'headers'`, default) or in the middle of the body. */
  | { type: 'slow'; delayMs: number; phase?: 'headers' | 'body' }
  /** 200 with a body of `bytes` bytes of valid-looking JSON, with or without `Content-Length`. */
  | { type: 'huge'; bytes: number; contentLength: boolean }
  /** 200 with this exact body (e.g. invalid JSON, `{"keys": 1}`). */
  | { type: 'body'; body: string; contentType?: string }
  /** This status with a short body. */
  | { type: 'status'; status: number }
  /** A redirect (default 302) to `location`. */
  | { type: 'redirect'; location: string; status?: number }
  /** The connection is reset without an answer. */
  | { type: 'down' };

export interface JwksServerOptions {
  /** The JWKS document served. Default `{ keys: [] }`. */
  keys?: unknown;
  /** Path of the JWKS. Default `/jwks`. */
  path?: string;
  /** `Cache-Control` header of JWKS answers. Default: none. */
  cacheControl?: string;
  behaviour?: JwksServerBehaviour;
}

export interface JwksServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `url` + the JWKS path. */
  readonly jwksUri: string;
  /** Requests received on any path. */
  readonly fetchCount: number;
  /** Responses the client broke off before they were complete. */
  readonly abortedCount: number;
  setKeys(jwks: unknown): void;
  setBehaviour(behaviour: JwksServerBehaviour): void;
  /** `undefined` removes the header. */
  setCacheControl(value: string | undefined): void;
  /** Resolves once the server has seen `count` broken-off responses (or rejects after `timeoutMs`). */
  waitForAborted(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a JWKS server; close it in `after`/`afterEach`. */
export async function startJwksServer(options: JwksServerOptions = {}): Promise<JwksServer> {
  const path = options.path ?? '/jwks';
  let body = JSON.stringify(options.keys ?? { keys: [] });
  let cacheControl = options.cacheControl;
  let behaviour: JwksServerBehaviour = options.behaviour ?? { type: 'ok' };
  let fetchCount = 0;
  let abortedCount = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server = http.createServer((req, res) => {
    fetchCount++;
    res.on('close', () => {
      if (!res.writableFinished) abortedCount++;
    });
    if (req.url !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (cacheControl !== undefined) headers['cache-control'] = cacheControl;

    switch (behaviour.type) {
      case 'ok':
        res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
        return;
      case 'slow': {
        const { delayMs, phase = 'headers' } = behaviour;
        const current = body;
        if (phase === 'headers') {
          later(delayMs, () => res.writeHead(200, headers).end(current));
        } else {
          res.writeHead(200, headers);
          res.write(current.slice(0, 1));
          later(delayMs, () => res.end(current.slice(1)));
        }
        return;
      }
      case 'huge':
        writeHuge(res, behaviour.bytes, behaviour.contentLength);
        return;
      case 'body':
        res
          .writeHead(200, { 'content-type': behaviour.contentType ?? 'application/json' })
          .end(behaviour.body);
        return;
      case 'status':
        res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end(`status ${behaviour.status}`);
        return;
      case 'redirect':
        res.writeHead(behaviour.status ?? 302, { location: behaviour.location }).end();
        return;
      case 'down':
        req.socket.destroy();
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    jwksUri: url + path,
    get fetchCount() {
      return fetchCount;
    },
    get abortedCount() {
      return abortedCount;
    },
    setKeys(jwks) {
      body = JSON.stringify(jwks);
    },
    setBehaviour(next) {
      behaviour = next;
    },
    setCacheControl(value) {
      cacheControl = value;
    },
    async waitForAborted(count, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (abortedCount < count) {
        if (Date.now() > deadline)
          throw new Error(`expected ${count} aborted responses, saw ${abortedCount}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Streams `{"keys":[{"pad":"xxxx…"}]}` of about `bytes` bytes, honouring back-pressure. */
function writeHuge(res: http.ServerResponse, bytes: number, contentLength: boolean): void {
  const head = '{"keys":[{"pad":"';
  const tail = '"}]}';
  const padding = Math.max(0, bytes - head.length - tail.length);
  res.writeHead(200, {
    'content-type': 'application/json',
    ...(contentLength ? { 'content-length': head.length + padding + tail.length } : {}),
  });
  res.write(head);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = padding;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end(tail);
  };
  pump();
}

/**
 * The public JWK of `key` (private members never included), with extra members such as
 * `kid`, `alg`, `use`, `key_ops`.
 */
export function publicJwk(key: KeyObject, members: Record<string, unknown> = {}): Record<string, unknown> {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return { ...publicKey.export({ format: 'jwk' }), ...members };
}

/** A JWKS server publishing one RS256 signing key under `kid`, as an IdP would. */
export function startOneKeyJwksServer(key: KeyObject, kid: string): Promise<JwksServer> {
  return startJwksServer({ keys: { keys: [publicJwk(key, { kid, alg: 'RS256', use: 'sig' })] } });
}
