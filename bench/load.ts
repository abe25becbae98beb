/**
 * One autocannon run against an app: `GET /api/v1/tables` with a bearer token per request, the
 * next one of a {@link TokenRotation} (one token: always the same; 10,000: a different one each
 * time), or with the headers of another {@link RequestHeaders} (a DPoP proof per request).
 * Every scenario, bare Express included, goes through the same request builder and sends the same
 * header, so the load generator costs the same whatever is measured.
 */
import autocannon from 'autocannon';

/** The headers of each request, in turn. */
export interface RequestHeaders {
  next(): Record<string, string>;
  /** Called before a run of about `seconds` (e.g. to sign what the run will send). */
  prepare?(seconds: number): void;
  /** Called after a run with the rate it reached. */
  ran?(requestsPerSecond: number): void;
}

/**
 * Tokens sent in turn, one per request. The turn carries on from one load run to the next, so the
 * slices of a paired run go on through all the tokens instead of starting over at the first one
 * (which would send the first few thousand again and again, and give a result cache work the
 * scenario says it does not have).
 */
export class TokenRotation implements RequestHeaders {
  readonly tokens: readonly string[];
  #next = 0;

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error('a token rotation needs at least one token');
    this.tokens = tokens;
  }

  next(): Record<string, string> {
    const token = this.tokens[this.#next]!;
    this.#next = (this.#next + 1) % this.tokens.length;
    return { authorization: `Bearer ${token}` };
  }
}

export interface LoadOptions {
  url: string;
  tokens: RequestHeaders;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  durationSeconds?: number;
  /** Stop after this many requests. */
  amount?: number;
  /** Requests per second over all connections (paced load); default: as fast as possible. */
  overallRate?: number;
}

export interface LoadResult {
  /** Responses per second over the run. */
  requestsPerSecond: number;
  responses: number;
  durationSeconds: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Responses by status code. */
  statusCounts: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
}

export const BENCH_PATH = '/api/v1/tables';

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { tokens } = options;
  tokens.prepare?.(
    options.amount !== undefined
      ? options.amount / (options.overallRate ?? 1000)
      : (options.durationSeconds ?? 5),
  );
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined
      ? { amount: options.amount }
      : { duration: options.durationSeconds ?? 5 }),
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
    requests: [
      {
        method: 'GET',
        path: BENCH_PATH,
        setupRequest(request) {
          return { ...request, headers: tokens.next() };
        },
      },
    ],
  });
  const statusCounts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {}))
    statusCounts[status] = count ?? 0;
  tokens.ran?.(result.requests.total / result.duration);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    responses: result.requests.total,
    durationSeconds: result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    statusCounts,
    errors: result.errors + result.timeouts,
  };
}
