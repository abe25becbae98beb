import { createHash } from 'node:crypto';

/** SHA-256 of a compact token, lower-case hex: what the store keeps instead of the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The last 4 characters of a token, shown to admins to tell tokens apart. */
export function tokenLast4(token: string): string {
  return token.slice(-4);
}
