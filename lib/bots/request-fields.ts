import { badRequest } from '../errors.js';
import { scopeTokenProblem } from '../verify/scopes.js';

/** Most scopes a bot may be allowed or a token carry (a bound on token size, not a tuning knob). */
export const MAX_SCOPES = 100;

/**
 * An optional text field of a request body: `undefined` when absent, else a string of at most
 * `max` characters without control characters (tab and newline allowed); 400 naming the field.
 */
export function optionalText(value: unknown, field: string, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > max || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) {
    throw badRequest(`${field} must be a string of at most ${max} characters without control characters.`);
  }
  return value;
}

/** A list of RFC 6749 scope-tokens, without repeats; 400 naming the field and the bad entry. */
export function scopeList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_SCOPES) {
    throw badRequest(`${field} must be a list of at most ${MAX_SCOPES} scopes, e.g. ["tables:read"].`);
  }
  for (const scope of value) {
    const problem = typeof scope === 'string' ? scopeTokenProblem(scope) : 'each scope must be a string';
    if (problem !== undefined) throw badRequest(`${field}: ${problem}.`);
  }
  return [...new Set(value as string[])];
}
