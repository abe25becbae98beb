/**
 * Zod builders for the kinds of values the configuration holds. Values substituted from the
 * environment arrive as strings; each builder turns a string into its field's type (so
 * `SERVER_PORT=8080` is a number and `AUTHORIZER_ADMIN_PRINCIPALS=a,b` a list) and otherwise
 * leaves the value alone for the schema to check. `{got}` in a message is replaced by the
 * offending value (redacted where secret) when the problem is reported.
 */
import { z } from 'zod';

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
const INFINITE = /^[+-]?\.?inf(inity)?$/i;
const NOT_A_NUMBER = /^\.?nan$/i;

function toNumber(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (DECIMAL.test(text)) return Number(text);
  // Kept as numbers so that the schema says "must be a finite number" rather than "not a number".
  if (INFINITE.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (NOT_A_NUMBER.test(text)) return NaN;
  return value;
}

function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : value;
}

/**
 * A list written as one string: `[a, b]`, `a,b`, `a`, `[]` or `""` (empty list). Items may be
 * quoted. Empty items are kept so that the item schema reports them.
 */
export function toList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  let text = value.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.trim() === '') return [];
  return text.split(',').map((item) => unquote(item.trim()));
}

function unquote(item: string): string {
  const quoted = item.length >= 2 && (item[0] === '"' || item[0] === "'") && item.endsWith(item[0]);
  return quoted ? item.slice(1, -1) : item;
}

/** A non-empty string. */
export function text() {
  return z.string().min(1, { error: 'must not be empty' });
}

/** A string that may be empty (the reference leaves `clientId`, `providerName`… empty). */
export function anyText() {
  return z.string();
}

/** An optional string; empty or absent means "not set" (`${RSA_PRIVATE_KEY:-""}`). */
export function optionalText() {
  return z.preprocess((value) => (value === '' || value === null ? undefined : value), z.string().optional());
}

/** A whole number in [min, max]; `unit` is appended to messages (e.g. ` seconds`). */
export function integer(min: number, max: number, unit = '') {
  return z.preprocess(
    toNumber,
    z
      .number()
      .int({ error: `must be a whole number${unit}, got {got}` })
      .min(min, { error: `must be at least ${min}${unit}, got {got}` })
      .max(max, { error: `must be at most ${max}${unit}, got {got}` }),
  );
}

/** A TCP port; 0 lets the operating system pick a free one. */
export function port() {
  const range = 'must be a port number from 0 to 65535 (0 picks a free port), got {got}';
  return z.preprocess(
    toNumber,
    z.number().int({ error: range }).min(0, { error: range }).max(65535, { error: range }),
  );
}

/** `true` or `false` (also as a string from the environment). */
export function flag() {
  return z.preprocess(toBoolean, z.boolean());
}

/**
 * A list; one string (e.g. from the environment) is split as `[a,b]` or `a,b`.
 * `emptyError`, when given, makes an empty list a problem with that message.
 */
export function list<T extends z.ZodType>(item: T, emptyError?: string) {
  const array = z.array(item);
  return z.preprocess(toList, emptyError === undefined ? array : array.min(1, { error: emptyError }));
}
