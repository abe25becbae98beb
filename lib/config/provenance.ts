import type { ConfigProvenance } from './types.js';

/** A location in the configuration tree: `['server', 'port']`, `['authenticationConfiguration', 'publicKeyUrls', 0]`. */
export type ConfigPath = ReadonlyArray<string | number>;

/** An environment variable that fed a value: `isSet` false means its `${VAR:-default}` default was used. */
export interface EnvReference {
  readonly name: string;
  readonly isSet: boolean;
}

/** `['a', 'b', 0, 'c']` → `a.b[0].c`. */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  }
  return text === '' ? '(top level)' : text;
}

/** Accepts `a.b[0]` and `a.b.0` alike. */
function normalise(path: string): string {
  return path.replace(/\.(\d+)(?=\.|\[|$)/g, '[$1]');
}

/** Strips the last segment: `a.b[0]` → `a.b`, `a.b` → `a`, `a` → undefined. */
function parentOf(path: string): string | undefined {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut > 0 ? path.slice(0, cut) : undefined;
}

/**
 * Records which environment variables fed which YAML values, so that an error about a value can
 * name the variable to fix. A value inside a list or block fed by a variable (e.g. the second URL
 * of `AUTHENTICATION_PUBLIC_KEYS`) is attributed to that variable.
 */
export class ProvenanceRecorder implements ConfigProvenance {
  readonly #sources = new Map<string, readonly EnvReference[]>();

  record(path: ConfigPath, references: readonly EnvReference[]): void {
    if (references.length > 0) this.#sources.set(formatPath(path), references);
  }

  /** The environment variables behind `path` (or the nearest enclosing value), if any. */
  referencesOf(path: string): readonly EnvReference[] {
    for (let at: string | undefined = normalise(path); at !== undefined; at = parentOf(at)) {
      const references = this.#sources.get(at);
      if (references !== undefined) return references;
    }
    return [];
  }

  /** `jwtTokenConfiguration.keyId (from environment variable JWT_KEY_ID)`, or just the path. */
  describe(path: string): string {
    const references = this.referencesOf(path);
    const set = references.filter((reference) => reference.isSet).map((reference) => reference.name);
    const unset = references.filter((reference) => !reference.isSet).map((reference) => reference.name);
    const notes: string[] = [];
    if (set.length > 0) notes.push(`from environment variable${set.length > 1 ? 's' : ''} ${set.join(', ')}`);
    if (unset.length > 0) {
      const plural = unset.length > 1;
      notes.push(
        `default of environment variable${plural ? 's' : ''} ${unset.join(', ')}, which ${plural ? 'are' : 'is'} not set`,
      );
    }
    const shown = normalise(path);
    return notes.length === 0 ? shown : `${shown} (${notes.join('; ')})`;
  }
}
