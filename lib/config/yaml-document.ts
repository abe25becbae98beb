import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';

import { ConfigError } from '../errors.js';
import type { ConfigPath } from './provenance.js';

/** A parsed YAML configuration: its plain tree, and where each value was written. */
export interface YamlConfigDocument {
  readonly tree: unknown;
  /** The line of `path` (or of its nearest written ancestor) in the file, 1-based. */
  lineOf(path: ConfigPath): number | undefined;
}

/**
 * Parses YAML 1.2 (core schema: `yes`/`on` stay strings) with duplicate keys refused and
 * aliases bounded, so a hostile file cannot expand into gigabytes.
 */
export function parseYamlDocument(text: string, source: string): YamlConfigDocument {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, merge: false });
  if (document.errors.length > 0) {
    const details = document.errors.map((error) => error.message.trim()).join('\n');
    throw new ConfigError(`Invalid jwt-gate configuration (${source}): not valid YAML:\n${details}`);
  }
  let tree: unknown;
  try {
    tree = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(`Invalid jwt-gate configuration (${source}): ${(error as Error).message}`, {
      cause: error,
    });
  }

  const lineOfExact = (path: ConfigPath): number | undefined => {
    const parent = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true);
    const last = path[path.length - 1];
    let range: readonly number[] | null | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
      range = isScalar(pair?.key) ? pair.key.range : undefined;
    } else if (isSeq(parent) && typeof last === 'number') {
      const item = parent.items[last];
      range = isScalar(item) || isMap(item) || isSeq(item) ? item.range : undefined;
    }
    return range?.[0] === undefined ? undefined : lineCounter.linePos(range[0]).line;
  };

  return {
    tree,
    lineOf(path) {
      for (let length = path.length; length > 0; length -= 1) {
        const line = lineOfExact(path.slice(0, length));
        if (line !== undefined) return line;
      }
      return undefined;
    },
  };
}
