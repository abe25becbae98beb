/**
 * The one way lib/keys reports a bad key: a `ConfigError` (code `ERR_KEY_INVALID`) whose message
 * starts with the field that fed the key and ends with the fix.
 */
import { ConfigError } from '../errors.js';

/** How to make keys, quoted in every message whose fix is "get a (new) key". */
export const GENERATE_KEYS_HINT =
  'generate keys with `jwt-gate keys generate --out DIR` or the openssl commands ' +
  '(`openssl genrsa -out private_key.pem 2048`, ' +
  '`openssl pkcs8 -topk8 -inform PEM -outform DER -in private_key.pem -out private_key.der -nocrypt`, ' +
  '`openssl rsa -in private_key.pem -pubout -outform DER -out public_key.der`)';

/** `<field>: <problem>` as an `ERR_KEY_INVALID` ConfigError. */
export function keyError(field: string, problem: string, cause?: unknown): ConfigError {
  return new ConfigError(`${field}: ${problem}`, { code: 'ERR_KEY_INVALID', cause });
}
