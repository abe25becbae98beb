/** Remote JWKS key sources: hardened fetching, parsing and caching of a key server's keys. */
export { RemoteJwksSource } from './remote-jwks-source.js';
export type { KeysChangedListener, RemoteJwksSourceHealth } from './remote-jwks-source.js';
export type { RemoteJwksSourceOptions } from './remote-jwks-options.js';
export { cacheLifetimeSeconds } from './cache-lifetime.js';
export type { CacheLifetimeBounds } from './cache-lifetime.js';
export { fetchJwks } from './fetch-jwks.js';
export type { JwksFetchLimits, JwksResponse } from './fetch-jwks.js';
export { importVerificationKeys } from './import-verification-keys.js';
export type { ImportedKeys, VerificationKey } from './import-verification-keys.js';
