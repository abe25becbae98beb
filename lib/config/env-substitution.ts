import type { ConfigPath, EnvReference, ProvenanceRecorder } from './provenance.js';

/** The environment that `${VAR}` expressions read (normally `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A value that could not be substituted; reported with its path alongside schema problems. */
export interface SubstitutionProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

interface Substituted {
  value: string;
  references: EnvReference[];
}

class SubstitutionFailure extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string scalar of an already-parsed YAML tree.
 * Working scalar by scalar (never on the file's text) means an environment value is always one
 * plain string: it cannot add keys, lists or anchors, whatever characters it holds. The schema
 * then types the string for its field (number, boolean, list…).
 *
 * Like the shell, `:-` uses the default when the variable is unset or empty. A default may be
 * quoted (`${JWT_ISSUER:-"open-metadata.org"}` → `open-metadata.org`) and may nest another
 * expression. `$${` writes a literal `${`.
 */
export function substituteEnv(
  tree: unknown,
  env: Env,
  provenance: ProvenanceRecorder,
): { tree: unknown; problems: SubstitutionProblem[] } {
  const problems: SubstitutionProblem[] = [];
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (Array.isArray(node)) return node.map((item: unknown, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]),
      );
    }
    if (typeof node !== 'string' || !node.includes('${')) return node;
    try {
      const { value, references } = substitute(node, env);
      provenance.record(path, references);
      return value;
    } catch (error) {
      if (!(error instanceof SubstitutionFailure)) throw error;
      problems.push({ path, message: error.message });
      return node;
    }
  };
  return { tree: walk(tree, []), problems };
}

function substitute(text: string, env: Env): Substituted {
  const references: EnvReference[] = [];
  let value = '';
  let index = 0;
  while (index < text.length) {
    if (text.startsWith('$${', index)) {
      value += '${';
      index += 3;
    } else if (text.startsWith('${', index)) {
      const expression = readExpression(text, index);
      const resolved = resolve(expression, env);
      value += resolved.value;
      references.push(...resolved.references);
      index = expression.end;
    } else {
      value += text[index];
      index += 1;
    }
  }
  return { value, references };
}

interface Expression {
  name: string;
  /** Raw default text after `:-`, or undefined for `${VAR}`. */
  fallback: string | undefined;
  /** Index just past the closing `}`. */
  end: number;
}

function readExpression(text: string, start: number): Expression {
  const name = NAME.exec(text.slice(start + 2))?.[0];
  const malformed = (): SubstitutionFailure =>
    new SubstitutionFailure(
      `has a malformed environment expression in "${clip(text)}": write \${VAR} or \${VAR:-default} ` +
        '(or $${ for a literal ${)',
    );
  if (name === undefined) throw malformed();
  let index = start + 2 + name.length;
  if (text[index] === '}') return { name, fallback: undefined, end: index + 1 };
  if (!text.startsWith(':-', index)) throw malformed();
  index += 2;
  const fallbackStart = index;
  const quote = text.slice(index).trimStart()[0];
  if (quote === '"' || quote === "'") {
    index = text.indexOf(quote, index) + 1;
    while (index < text.length && text[index] !== quote)
      index += text[index] === '\\' && quote === '"' ? 2 : 1;
    if (index >= text.length) throw malformed();
    const close = text.indexOf('}', index);
    if (close < 0 || text.slice(index + 1, close).trim() !== '') throw malformed();
    return { name, fallback: text.slice(fallbackStart, close), end: close + 1 };
  }
  // Balanced braces, so a default may itself hold `${OTHER:-x}`.
  let depth = 1;
  for (; index < text.length; index += 1) {
    if (text[index] === '{') depth += 1;
    if (text[index] === '}' && --depth === 0)
      return { name, fallback: text.slice(fallbackStart, index), end: index + 1 };
  }
  throw malformed();
}

function resolve({ name, fallback }: Expression, env: Env): Substituted {
  const fromEnv = env[name];
  if (fallback === undefined) {
    if (fromEnv === undefined) {
      throw new SubstitutionFailure(
        `uses \${${name}}, but environment variable ${name} is not set: set ${name}, ` +
          `or give a default in the YAML as \${${name}:-value}`,
      );
    }
    return { value: fromEnv, references: [{ name, isSet: true }] };
  }
  if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, references: [{ name, isSet: true }] };
  const trimmed = fallback.trim();
  const reference: EnvReference = { name, isSet: false };
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return { value: unquoteDouble(trimmed), references: [reference] };
  }
  if (trimmed.length >= 2 && trimmed.startsWith("'") && trimmed.endsWith("'")) {
    return { value: trimmed.slice(1, -1).replaceAll("''", "'"), references: [reference] };
  }
  const nested = substitute(trimmed, env);
  return { value: nested.value, references: [reference, ...nested.references] };
}

function unquoteDouble(quoted: string): string {
  try {
    const parsed: unknown = JSON.parse(quoted);
    if (typeof parsed === 'string') return parsed;
  } catch {
    // Not JSON-escaped (e.g. a lone backslash in a Windows path): keep the text between the quotes.
  }
  return quoted.slice(1, -1);
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
