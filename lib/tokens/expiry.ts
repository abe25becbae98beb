import { badRequest } from '../errors.js';

/** Token lifetimes as the reference sends them on the wire (`JWTTokenExpiry`). */
export const EXPIRY_CHOICES = ['OneHour', '1', '7', '30', '60', '90', 'Unlimited'] as const;

export type ExpiryChoice = (typeof EXPIRY_CHOICES)[number];

const SECONDS: Readonly<Record<ExpiryChoice, number | null>> = {
  OneHour: 3600,
  '1': 86_400,
  '7': 7 * 86_400,
  '30': 30 * 86_400,
  '60': 60 * 86_400,
  '90': 90 * 86_400,
  Unlimited: null,
};

/**
 * Validates a wire value (`"7"`, `"OneHour"`, `"Unlimited"`, or the number `7`) and returns the
 * canonical choice. Throws a 400 `ERR_EXPIRY_INVALID` naming the accepted values.
 */
export function parseExpiry(value: unknown): ExpiryChoice {
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text === 'string' && Object.hasOwn(SECONDS, text)) return text as ExpiryChoice;
  throw badRequest(
    `JWTTokenExpiry must be one of ${EXPIRY_CHOICES.map((c) => `"${c}"`).join(', ')}.`,
    'ERR_EXPIRY_INVALID',
  );
}

/** Lifetime of a choice in seconds; `null` for `Unlimited` (no `exp`). */
export function expirySeconds(choice: ExpiryChoice): number | null {
  return SECONDS[choice];
}
