/**
 * Turns schema issues into problems a person can act on: the path (and the environment variable
 * that fed it), what is wrong, and the fix. All problems go into one `ConfigError`, one per line.
 */
import { z } from 'zod';

import { ConfigError } from '../errors.js';
import { CONFIG_DEFAULTS, SettingDefault, type DefaultsBlock } from './defaults.js';
import { didYouMean } from './did-you-mean.js';
import { formatPath, type ConfigPath, type EnvReference } from './provenance.js';
import { redactUrlPassword } from './url-rules.js';

/** One thing wrong with the configuration; `message` follows the described path. */
export interface ConfigProblem {
  readonly path: ConfigPath;
  readonly message: string;
  /** The message says what is wrong but not where to fix it: add that (YAML, env var, default). */
  readonly addFix?: boolean;
}

/** Where the problems were found, to name it and each value's origin. */
export interface ProblemContext {
  /** `example-app/conf/jwt-gate.yaml`, or `options` for a typed options object. */
  readonly source: string;
  /** The path, plus the environment variable behind it (see `ConfigProvenance.describe`). */
  describe(path: string): string;
  /** The YAML line of a value or key, when known. */
  lineOf?(path: ConfigPath): number | undefined;
  /** The environment variables behind a value, when it came from YAML. */
  referencesOf?(path: string): readonly EnvReference[];
}

/** Converts zod issues (parsed with `reportInput: true`) into problems, one per fault. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType): ConfigProblem[] {
  return issues.flatMap((issue) => issueToProblems(issue, [], schema));
}

/** One `ConfigError`: a single problem on one line; several as a count, then one per line in file order. */
export function configError(problems: readonly ConfigProblem[], context: ProblemContext): ConfigError {
  const lines = problems
    .map((problem) => ({ problem, line: context.lineOf?.(problem.path) }))
    .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))
    .map(({ problem, line }) => {
      const where = line === undefined ? '' : `line ${line}: `;
      const path = formatPath(problem.path);
      const fix =
        problem.addFix === true ? `: ${fixHint(problem.path, context.referencesOf?.(path) ?? [])}` : '';
      return `${where}${context.describe(path)} ${problem.message}${fix}`;
    });
  const header = `Invalid jwt-gate configuration (${context.source})`;
  const message =
    lines.length === 1
      ? `${header}: ${lines[0]}`
      : `${header}, ${lines.length} problems:\n  ${lines.join('\n  ')}`;
  return new ConfigError(message);
}

function fixHint(path: ConfigPath, references: readonly EnvReference[]): string {
  const set = references.filter((reference) => reference.isSet).map((reference) => reference.name);
  if (set.length > 0)
    return `correct environment variable ${set.join(', ')} (or unset it to use the default)`;
  const unset = references.map((reference) => reference.name);
  if (unset.length > 0)
    return `correct the default written in the YAML, or set environment variable ${unset.join(', ')}`;
  const fallback = defaultAt(path);
  if (fallback === undefined) return 'correct the value';
  return `correct the value, or remove it to use the default ${JSON.stringify(fallback)}`;
}

function issueToProblems(issue: z.core.$ZodIssue, prefix: ConfigPath, schema: z.ZodType): ConfigProblem[] {
  const path = [...prefix, ...(issue.path as Array<string | number>)];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: unknownKeyMessage(key, path, schema),
      }));
    case 'invalid_union':
      return unionProblems(issue, path, schema);
    case 'invalid_type':
      return [wrongType(issue.expected, issue.input, path)];
    case 'too_small':
    case 'too_big':
      return [{ path, message: issue.message.replaceAll('{got}', shown(issue.input, path)), addFix: true }];
    default:
      return [{ path, message: issue.message.replaceAll('{got}', shown(issue.input, path)) }];
  }
}

function unknownKeyMessage(key: string, path: ConfigPath, schema: z.ZodType): string {
  const known = knownKeysAt(schema, path);
  const suggestion = didYouMean(key, known);
  if (suggestion !== undefined) return `is not a known setting: did you mean \`${suggestion}\`?`;
  const where = path.length === 0 ? 'at the top level' : `under ${formatPath(path)}`;
  return `is not a known setting: remove it (known settings ${where}: ${known.join(', ')})`;
}

function unionProblems(
  issue: z.core.$ZodIssueInvalidUnion,
  path: ConfigPath,
  schema: z.ZodType,
): ConfigProblem[] {
  // The branch that accepted the value's type explains what is wrong inside it.
  const isTypeMismatch = (branch: z.core.$ZodIssue[]): boolean =>
    branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0);
  if (issue.input === undefined) return [wrongType('', undefined, path)];
  const branch = issue.errors.find((candidate) => !isTypeMismatch(candidate));
  if (branch !== undefined) return branch.flatMap((inner) => issueToProblems(inner, path, schema));
  const expected = issue.errors.flatMap((candidate) =>
    candidate.flatMap((inner) =>
      inner.code === 'invalid_type' ? [KIND_NAMES[inner.expected] ?? inner.expected] : [],
    ),
  );
  return [
    { path, message: `must be ${[...new Set(expected)].join(' or ')}, got ${shown(issue.input, path)}` },
  ];
}

const KIND_NAMES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a block of settings',
};

function wrongType(expected: string, input: unknown, path: ConfigPath): ConfigProblem {
  if (input === undefined) return { path, message: 'is missing: add it' };
  if (input === null) return { path, message: 'has no value', addFix: true };
  const got = shown(input, path);
  if ((expected === 'number' || expected === 'int') && typeof input === 'number') {
    return { path, message: `must be a finite number, got ${got}`, addFix: true };
  }
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return { path, message: `must be text, got ${got}: put it in quotes in the YAML` };
  }
  return { path, message: `must be ${KIND_NAMES[expected] ?? expected}, got ${got}`, addFix: true };
}

const SECRET_KEYS = /privatekey|jwttoken|detailstoken|password|secret/i;
const LOOKS_LIKE_JWT = /^eyJ[\w-]*\.[\w-]*\./;

/** The offending value as shown in a message: never a secret, a token or a URL password. */
function shown(value: unknown, path: ConfigPath): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a block of settings';
  const last = path.findLast((segment) => typeof segment === 'string') ?? '';
  if (SECRET_KEYS.test(last)) return 'a secret value (not shown)';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return `a ${typeof value}`;
  if (LOOKS_LIKE_JWT.test(value)) return 'a secret value (not shown)';
  const text = redactUrlPassword(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function defaultAt(path: ConfigPath): unknown {
  let node: DefaultsBlock | SettingDefault | undefined = CONFIG_DEFAULTS;
  for (const segment of path) {
    if (node === undefined || node instanceof SettingDefault || typeof segment !== 'string') return undefined;
    node = node[segment];
  }
  return node instanceof SettingDefault ? node.value : undefined;
}

/** The keys a strict object at `path` accepts (for "did you mean"). */
function knownKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let current = variants(schema);
  for (const segment of path) {
    current = current.flatMap((variant) => {
      if (typeof segment === 'number' && variant instanceof z.ZodArray)
        return variants(variant.element as z.ZodType);
      if (typeof segment === 'string' && variant instanceof z.ZodObject) {
        const child = (variant.shape as Record<string, z.ZodType | undefined>)[segment];
        return child === undefined ? [] : variants(child);
      }
      return [];
    });
  }
  const keys = current.flatMap((variant) =>
    variant instanceof z.ZodObject ? Object.keys(variant.shape) : [],
  );
  return [...new Set(keys)];
}

/** A schema with its wrappers (preprocess, optional, default) removed; a union as its options. */
function variants(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodPipe) return variants(schema.out as z.ZodType);
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault)
    return variants(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(variants);
  return [schema];
}
