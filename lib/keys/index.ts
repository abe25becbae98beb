// lib/keys public API.
export { loadKeySet } from './load-key-set.js';
export type { LoadKeySetOptions } from './load-key-set.js';
export type { KeySet, PublishedKey, SigningKey } from './key-set.js';
export { publicJwk, publicJwks } from './public-jwk.js';
export { jwkThumbprint } from './jwk-thumbprint.js';
export type { ThumbprintJwk } from './jwk-thumbprint.js';
export type { RsaPublicJwk } from './public-jwk.js';
export { generateKeyFiles, KEY_FILE_NAMES } from './generate-key-files.js';
export type { GenerateKeyFilesOptions, GeneratedKeyFiles } from './generate-key-files.js';
export { MIN_RSA_BITS } from '../config/algorithms.js';
