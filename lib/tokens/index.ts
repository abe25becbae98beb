// `jwt-gate/tokens`: signing tokens with a key set outside a gate (`gate.mintToken` inside one),
// and the reference's expiry choices.
export { mintToken } from './mint-token.js';
export type { MintClaims, MintIssuer, MintedToken, TokenResponse } from './mint-token.js';
export { EXPIRY_CHOICES, parseExpiry, expirySeconds } from './expiry.js';
export type { ExpiryChoice } from './expiry.js';
