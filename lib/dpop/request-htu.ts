/**
 * The URL a request was sent to, as a DPoP proof's `htu` must name it (RFC 9449 §4.3 point 9):
 * scheme, host and path, without query or fragment.
 *
 * Where the scheme and host come from matters: a proof names one host, and a server that takes
 * the host from a client-controlled header accepts a proof made for another host, replayed at it
 * with a spoofed `Host` (the express-oauth2-jwt-bearer 1.9.1 issue). So:
 *
 * - a deployment behind a reverse proxy, or reachable under several names, MUST set
 *   `externalOrigin`: then that origin is used whatever the request's headers say;
 * - otherwise `X-Forwarded-Proto`/`X-Forwarded-Host` are read only when the immediate peer is one
 *   of `trustedProxies` (exact IP addresses), never because of Express's `trust proxy` setting;
 * - otherwise the scheme is the connection's (TLS or not) and the host is the `Host` header.
 */
import { isIP } from 'node:net';
import { ConfigError, DpopProofError } from '../errors.js';

/** The parts of a request `requestHtu` reads (an Express or plain Node request has them). */
export interface HtuRequest {
  /** Express's original path and query, before any router mount stripped a prefix. */
  originalUrl?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  socket: { remoteAddress?: string | undefined; encrypted?: boolean };
}

export interface RequestHtuOptions {
  /**
   * The origin clients call, e.g. `https://api.example.com` (scheme, host, optional port; no
   * path). When set, it is always used. Required behind a proxy or with several host names.
   */
  externalOrigin?: string;
  /**
   * IP addresses of the reverse proxies directly in front of this server; only from these peers are
   * `X-Forwarded-Proto` and `X-Forwarded-Host` believed (their last value: the one the proxy
   * added). IPv4 addresses match their IPv4-mapped IPv6 form too. Default: none.
   */
  trustedProxies?: readonly string[];
}

/** `requestHtu` with its options checked once. */
export type RequestHtu = (req: HtuRequest) => string;

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/**
 * Checks the options once and returns the function.
 *
 * @throws {ConfigError} for an `externalOrigin` that is not a bare http(s) origin, or a trusted
 *   proxy that is not an IP address.
 * @example
 * const htuOf = createRequestHtu({ externalOrigin: 'https://api.example.com' });
 * verifyDpopProof(proof, { method: req.method, htu: htuOf(req), accessToken });
 */
export function createRequestHtu(options: RequestHtuOptions = {}): RequestHtu {
  const externalOrigin =
    options.externalOrigin === undefined ? undefined : checkOrigin(options.externalOrigin);
  const trusted = new Set<string>();
  for (const address of options.trustedProxies ?? []) {
    if (isIP(address) === 0) {
      throw new ConfigError(`dpop trustedProxies: "${address}" is not an IP address (exact addresses only).`);
    }
    trusted.add(canonicalAddress(address));
  }

  return function htuOf(req) {
    const path = pathOf(req);
    if (externalOrigin !== undefined) return normalize(externalOrigin + path);
    const peer = req.socket.remoteAddress;
    if (peer !== undefined && trusted.has(canonicalAddress(peer))) {
      const proto = lastValue(req.headers['x-forwarded-proto'])?.toLowerCase();
      const host = lastValue(req.headers['x-forwarded-host']);
      if (proto !== undefined || host !== undefined) {
        if (proto !== undefined && proto !== 'http' && proto !== 'https') {
          throw badRequest('The request\'s X-Forwarded-Proto is not "http" or "https".');
        }
        return build(proto ?? schemeOf(req), host ?? hostOf(req), path);
      }
    }
    return build(schemeOf(req), hostOf(req), path);
  };
}

/**
 * The request's URL without query and fragment, e.g. `https://api.example.com/api/v1/tables`.
 *
 * @throws {DpopProofError} when the request has no usable host or path (no proof can match it).
 */
export function requestHtu(req: HtuRequest, options: RequestHtuOptions = {}): string {
  return createRequestHtu(options)(req);
}

function checkOrigin(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    value.includes('?') ||
    value.includes('#')
  ) {
    throw new ConfigError(
      `dpop externalOrigin: "${value}" must be an http(s) origin without a path, e.g. https://api.example.com.`,
    );
  }
  return url.origin;
}

/** The path, from the original request target, without query or fragment. */
function pathOf(req: HtuRequest): string {
  const target = req.originalUrl ?? req.url ?? '';
  // Only origin-form targets ("/path"): an absolute-form or "*" target names no path of ours.
  if (!target.startsWith('/')) throw badRequest('The request target is not a path.');
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

function schemeOf(req: HtuRequest): string {
  return req.socket.encrypted === true ? 'https' : 'http';
}

function hostOf(req: HtuRequest): string {
  const host = req.headers.host ?? req.headers[':authority'];
  if (typeof host !== 'string' || host.length === 0) throw badRequest('The request has no Host header.');
  return host;
}

function build(scheme: string, host: string, path: string): string {
  // A host with "/", "@" or spaces would move the URL's authority: only names, IPs and a port.
  if (!HOST.test(host)) throw badRequest("The request's host is not a valid host name.");
  return normalize(`${scheme}://${host}${path}`);
}

function normalize(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('The request URL cannot be parsed.');
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** The last of a comma-separated list (the value the nearest proxy appended), trimmed. */
function lastValue(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(',') : header;
  if (joined === undefined) return undefined;
  const value = joined.slice(joined.lastIndexOf(',') + 1).trim();
  return value === '' ? undefined : value;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same peer; IPv6 is compared lower-cased. */
function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

function badRequest(description: string): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', description);
}
