/**
 * The shape of a DPoP key thumbprint as it enters a mint: what `cnf.jkt` holds (RFC 9449 §6.1), an
 * RFC 7638 SHA-256 thumbprint — 32 bytes, base64url without padding.
 */
const JKT = /^[A-Za-z0-9_-]{43}$/;

/** Whether `value` has the shape of an RFC 7638 SHA-256 thumbprint (43 base64url characters). */
export function isJwkThumbprint(value: unknown): value is string {
  return typeof value === 'string' && JKT.test(value);
}
