import { badRequest } from '../errors.js';

/** Bot names: lower-case, URL- and claim-safe, never `*` (the store's "every bot" marker). */
export const BOT_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The rule, in the words the 400 answer uses. */
export const BOT_NAME_RULE =
  'a bot name is 1 to 64 characters of lower-case letters a-z, digits, ".", "_" and "-", starting with a letter or digit';

/**
 * Returns `name` when it is a valid bot name.
 *
 * @throws ApiError 400 `ERR_BAD_REQUEST` stating the rule.
 * @example assertBotName('ingestion-bot') // 'ingestion-bot'
 */
export function assertBotName(name: unknown): string {
  if (typeof name === 'string' && BOT_NAME_PATTERN.test(name)) return name;
  // The value is not echoed: whatever was pasted there stays out of responses and logs.
  throw badRequest(`${typeof name === 'string' ? 'Invalid' : 'Missing'} bot name: ${BOT_NAME_RULE}.`);
}
