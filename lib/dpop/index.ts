// lib/dpop public API: the standalone pieces of DPoP (RFC 9449).
export { jwkThumbprint } from './jwk-thumbprint.js';
export type { ThumbprintJwk } from './jwk-thumbprint.js';
export { createDpopProofVerifier, DPOP_ALGORITHMS, verifyDpopProof } from './verify-proof.js';
export type {
  DpopAlgorithm,
  DpopNonceVerdict,
  DpopProofOptions,
  DpopProofVerifier,
  DpopRequest,
  VerifiedDpopProof,
} from './verify-proof.js';
export { createRequestHtu, requestHtu } from './request-htu.js';
export type { HtuRequest, RequestHtu, RequestHtuOptions } from './request-htu.js';
export { MemoryReplayCache } from './replay-cache.js';
export type { MemoryReplayCacheOptions } from './replay-cache.js';
