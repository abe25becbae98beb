/**
 * The few routes that need no token (the JWKS, the public auth config, health), matched EXACTLY.
 *
 * The reference matched excluded paths by substring, and `/api/v1;v1%2fusers%2flogin/…` walked
 * past authentication. Here a request is public only when its method is GET or HEAD and the path
 * part of its full URL (`originalUrl`, before `?`) is character-for-character one of the configured
 * paths. Configured paths must be plain (ASCII letters, digits, `-._~/`; no `%`, `;`, `\`, `//`,
 * dot segments or trailing `/`), so an exact match can never be an encoded, dotted, doubled or
 * parameterised variant: `/api/v1;x/config/jwks`, `/api/v1/config%2fjwks`, `/API/v1/config/jwks`,
 * `/api/v1/config/jwks/`, `/api/v1/config/jwks/..` and `/api/v1/config/jwksx` all require a token.
 * Anything that is not public requires a token — when in doubt, the answer is "not public".
 */

import { ConfigError } from '../../errors.js';

/** The parts of a request the matcher reads; an Express request fits. */
export interface PublicPathRequest {
  method: string;
  /** Ignored: Express's `req.path` is relative to the mount point; the full URL is used instead. */
  path?: string;
  /** The full request target (Express); preferred over `url`, which a mounted router rewrites. */
  originalUrl?: string;
  url: string;
}

/** Decides whether a request is for a public route. */
export type PublicPathMatcher = (req: PublicPathRequest) => boolean;

/**
 * Builds the matcher once; each call is a method check, a cut at `?` and a set lookup.
 *
 * @param paths - Full public paths as the client sends them, from the root of the server
 *   (e.g. `/api/v1/config/jwks` even when the routers are mounted under `/api`).
 * @param field - Name of the configuration field, for error messages. Default `publicPaths`.
 * @throws {ConfigError} when a configured path is not a plain absolute path.
 * @example
 * const isPublic = createPublicPathMatcher(['/api/v1/config/jwks', '/api/v1/system/config/auth']);
 * if (isPublic(req)) return next();
 */
export function createPublicPathMatcher(paths: readonly string[], field = 'publicPaths'): PublicPathMatcher {
  const exact = new Set<string>();
  paths.forEach((path, index) => {
    const problem = plainPathProblem(path);
    if (problem !== undefined) {
      throw new ConfigError(
        `${field}[${index}] (${JSON.stringify(path)}) ${problem}; write it as a plain path such as "/api/v1/config/jwks".`,
      );
    }
    exact.add(path);
  });

  return function isPublicPath(req: PublicPathRequest): boolean {
    if (exact.size === 0 || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const target = req.originalUrl ?? req.url;
    if (typeof target !== 'string') return false;
    const query = target.indexOf('?');
    // Exact equality with a plain configured path implies the request path is plain too.
    return exact.has(query < 0 ? target : target.slice(0, query));
  };
}

/** Why `path` is not a plain absolute path, or undefined when it is one. */
function plainPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || !path.startsWith('/')) return 'must be a path starting with "/"';
  for (let i = 0; i < path.length; i++) {
    if (!isPlainPathChar(path.charCodeAt(i))) {
      return 'may contain only ASCII letters, digits, "-", ".", "_", "~" and "/" (no "%", ";", "?", "\\" or spaces)';
    }
  }
  if (path.includes('//')) return 'must not contain "//"';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..'))
    return 'must not contain "." or ".." segments';
  if (path.length > 1 && path.endsWith('/')) return 'must not end with "/"';
  return undefined;
}

function isPlainPathChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e || // ~
    code === 0x2f // /
  );
}
