import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server of the example app, listening, with a close that also ends kept-alive connections. */
export interface Listening {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts `handler` on `port` (0: any free one) and `host`; rejects on EADDRINUSE and the like. */
export async function listen(handler: http.RequestListener, port: number, host: string): Promise<Listening> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    url: `http://localhost:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
