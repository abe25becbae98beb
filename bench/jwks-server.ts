/**
 * The bench SSO's key server on 127.0.0.1 (port 0): serves one JWKS at `/jwks` with
 * `Cache-Control: max-age=3600` (as Google's does) and counts every fetch, so the runner can tell
 * how often the gate went to the network. `GET /count` answers `{"fetches": n}` for other tools.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchJwksServer {
  readonly jwksUri: string;
  /** Fetches of `/jwks` so far. */
  readonly fetches: number;
  close(): Promise<void>;
}

export async function startBenchJwksServer(jwks: unknown): Promise<BenchJwksServer> {
  const body = JSON.stringify(jwks);
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks') {
      fetches++;
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'public, max-age=3600',
          'content-length': Buffer.byteLength(body),
        })
        .end(body);
    } else if (req.method === 'GET' && req.url === '/count') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fetches }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUri: `http://127.0.0.1:${port}/jwks`,
    get fetches() {
      return fetches;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
