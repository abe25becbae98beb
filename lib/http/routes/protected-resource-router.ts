import type { Router } from 'express';
import type { ProtectedResourceConfiguration } from '../../config/types.js';
import type { KeySource } from '../../verify/key-source.js';
import { type PublicRoute, publicRouter, serveStaticJson } from './public-routes.js';

/** The well-known path of RFC 9728 protected-resource metadata (§3), at the host root. */
export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The members of the metadata document jwt-gate publishes (RFC 9728 §2). */
export interface ProtectedResourceMetadata {
  /** The resource identifier, exactly as configured (canonical: see `resourceIdentifierProblem`). */
  resource: string;
  /** Issuer identifiers of the authorization servers whose tokens the API accepts. */
  authorization_servers?: string[];
  scopes_supported?: string[];
  /** Only the `Authorization` header: tokens in a query or a form body are refused (400). */
  bearer_methods_supported: ['header'];
  resource_name?: string;
  /** DPoP proof algorithms accepted (RFC 9728 §2): tokens bound to a key are verified. */
  dpop_signing_alg_values_supported?: string[];
  /** Always false: unbound Bearer tokens are accepted too (RFC 9728 §2). */
  dpop_bound_access_tokens_required?: false;
}

export interface ProtectedResourceOptions {
  /** The resource identifier (`protectedResourceConfiguration.resource`), non-empty and validated. */
  resource: string;
  /** Issuer identifiers; kept in order, duplicates dropped, omitted when empty. */
  authorizationServers?: readonly string[];
  /** Scopes; sorted, duplicates dropped, omitted when empty. */
  scopesSupported?: readonly string[];
  /** `resource_name`; omitted when empty. */
  resourceName?: string;
  /**
   * DPoP proof algorithms (`dpop_signing_alg_values_supported`, with
   * `dpop_bound_access_tokens_required: false`); omitted when not given.
   */
  dpopAlgorithms?: readonly string[];
  /** `Cache-Control: public, max-age=…`, seconds. Default 300 (as the JWKS). */
  maxAgeSeconds?: number;
}

/** A gate's metadata: its public route, and the URL every challenge names. */
export interface GateProtectedResource {
  readonly route: PublicRoute;
  /** `resource_metadata` of the challenges (RFC 9728 §5.1). */
  readonly metadataUrl: string;
}

/**
 * The gate's metadata, built once at creation, or `null` when no resource identifier is
 * configured. It is never derived from the request's `Host`, which the client (or a proxy)
 * chooses: a shared cache could then keep, or a challenge name, a document that sends clients to
 * someone else's authorization server (docs/security.md#protected-resource-metadata-is-configured-never-guessed).
 */
export function gateProtectedResource(
  config: ProtectedResourceConfiguration,
  sources: readonly KeySource[],
  botScopes: readonly string[] = [],
  dpopAlgorithms?: readonly string[],
): GateProtectedResource | null {
  if (config.resource === '') return null;
  return {
    route: protectedResourceRoute({
      resource: config.resource,
      authorizationServers: authorizationServersOf(sources),
      scopesSupported: supportedScopesOf(sources, config.scopesSupported, botScopes),
      resourceName: config.resourceName,
      ...(dpopAlgorithms === undefined ? {} : { dpopAlgorithms }),
    }),
    metadataUrl: protectedResourceMetadataUrl(config.resource).href,
  };
}

/**
 * Where the metadata of `resource` lives (RFC 9728 §3.1): the well-known path inserted between the
 * host and the path of the identifier — `https://api.example.com/api` →
 * `https://api.example.com/.well-known/oauth-protected-resource/api`. The path is always from the
 * host root: where an app mounts its routers (`basePath`) does not move it.
 */
export function protectedResourceMetadataUrl(resource: string): URL {
  const url = new URL(resource);
  return new URL(`${url.origin}${metadataPathOf(url)}`);
}

/**
 * The public route of the metadata document: the exact path RFC 9728 §3.1 derives from the
 * resource identifier and, when that identifier has a path, also the bare
 * `/.well-known/oauth-protected-resource` (clients that try the host root first find it there).
 * The body is built once; requests only write it, with `Cache-Control: public` and an `ETag`.
 */
export function protectedResourceRoute(options: ProtectedResourceOptions): PublicRoute {
  const path = metadataPathOf(new URL(options.resource));
  const serveMetadata = serveStaticJson(
    'serveProtectedResourceMetadata',
    protectedResourceMetadata(options),
    options.maxAgeSeconds ?? 300,
  );

  return {
    paths: path === PROTECTED_RESOURCE_WELL_KNOWN ? [path] : [path, PROTECTED_RESOURCE_WELL_KNOWN],
    fromRoot: true,
    handle: serveMetadata,
  };
}

/**
 * The metadata route as a Router, for an app that serves it on its own. Mount it at the root of
 * the host (`app.use(…)`, not under a prefix): RFC 9728 puts the document there.
 */
export function createProtectedResourceRouter(options: ProtectedResourceOptions): Router {
  return publicRouter(protectedResourceRoute(options));
}

/** The document (RFC 9728 §2), members in the RFC's order; empty optional members are omitted. */
export function protectedResourceMetadata(options: ProtectedResourceOptions): ProtectedResourceMetadata {
  const servers = [...new Set(options.authorizationServers ?? [])];
  const scopes = [...new Set(options.scopesSupported ?? [])].sort();
  return {
    resource: options.resource,
    ...(servers.length > 0 ? { authorization_servers: servers } : {}),
    ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
    bearer_methods_supported: ['header'],
    ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    ...(options.dpopAlgorithms === undefined
      ? {}
      : {
          dpop_signing_alg_values_supported: [...options.dpopAlgorithms],
          dpop_bound_access_tokens_required: false as const,
        }),
  };
}

/**
 * `authorization_servers`: the issuer identifiers of the key sources that are http(s) URLs, in
 * source order — a plain `publicKeyUrls` entry's `authority` (Google's
 * `https://accounts.google.com`), an explicit entry's `issuer`s — and this server's own
 * `jwtissuer` only when it is an https URL (the reference's `open-metadata.org` is not one).
 */
export function authorizationServersOf(sources: readonly KeySource[]): string[] {
  const servers = new Set<string>();
  for (const source of sources) {
    for (const issuer of source.issuers) {
      if (!URL.canParse(issuer)) continue;
      const { protocol } = new URL(issuer);
      if (protocol === 'https:' || (protocol === 'http:' && source.kind === 'remote')) servers.add(issuer);
    }
  }
  return [...servers];
}

/**
 * `scopes_supported`: the configured list, every key source's `defaultScopes` (the scopes an ID
 * token of that source gets) and the scopes default bots are allowed
 * (`botConfiguration.defaultBotScopes`), so a client learns what to ask its authorization server for.
 */
export function supportedScopesOf(
  sources: readonly KeySource[],
  configured: readonly string[],
  botScopes: readonly string[] = [],
): string[] {
  return [...configured, ...sources.flatMap((source) => source.scopes?.defaults ?? []), ...botScopes];
}

/** `/.well-known/oauth-protected-resource` + the identifier's path (none for `https://host`). */
function metadataPathOf(resource: URL): string {
  const path = resource.pathname === '/' ? '' : resource.pathname;
  return `${PROTECTED_RESOURCE_WELL_KNOWN}${path}`;
}
