import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { ConfigError } from '../errors.js';
import { applyDefaults, isPlainObject } from './apply-defaults.js';
import { CONFIG_DEFAULTS } from './defaults.js';
import { substituteEnv } from './env-substitution.js';
import { parseConfig } from './parse-config.js';
import { ProvenanceRecorder } from './provenance.js';
import type { ResolvedConfig } from './types.js';
import { parseYamlDocument } from './yaml-document.js';

/** Where `loadConfig()` reads from. */
export interface ConfigSource {
  /** Path of the YAML file. Relative paths inside it resolve against its directory. */
  path?: string;
  /** The YAML itself; when `path` is also given, `path` only names it and sets `baseDir`. */
  text?: string;
  /** Environment for `${VAR}` substitution. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads the OpenMetadata-style YAML configuration (docs/configuration.md#the-reference-yaml, plus jwt-gate's additions):
 * substitutes `${VAR}` / `${VAR:-default}` value by value, fills defaults (a key the file leaves
 * out still honours its environment variable, e.g. `SERVER_PORT`), and validates everything.
 *
 * @throws ConfigError listing every problem, each with its YAML path, line, the environment
 *   variable that fed it and the fix.
 * @example
 *   const config = loadConfig({ path: 'conf/jwt-gate.yaml' });
 *   config.jwtTokenConfiguration.keyId; // 'Gb389a-9f76-gdjs-a92j-0242bk94356' unless JWT_KEY_ID is set
 */
export function loadConfig(source: ConfigSource): ResolvedConfig {
  const env = source.env ?? process.env;
  const name = source.path ?? 'inline YAML';
  const text = source.text ?? readConfigFile(source.path);
  const document = parseYamlDocument(text, name);
  if (!isPlainObject(document.tree)) {
    throw new ConfigError(
      `Invalid jwt-gate configuration (${name}): the file must be a mapping of blocks ` +
        '(jwtTokenConfiguration:, authenticationConfiguration:, …), not a list or a single value',
    );
  }
  const provenance = new ProvenanceRecorder();
  const substituted = substituteEnv(document.tree, env, provenance);
  const filled = applyDefaults(substituted.tree, CONFIG_DEFAULTS, { kind: 'yaml', env, provenance });
  return parseConfig(filled, {
    source: name,
    baseDir: source.path === undefined ? process.cwd() : dirname(resolve(source.path)),
    provenance,
    earlierProblems: substituted.problems,
    lineOf: (path) => document.lineOf(path),
  });
}

function readConfigFile(path: string | undefined): string {
  if (path === undefined) throw new ConfigError('loadConfig() needs `path` (a YAML file) or `text` (YAML).');
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(
      `Cannot read the jwt-gate configuration file ${resolve(path)}: ${reason}. Check the path.`,
      {
        cause: error,
      },
    );
  }
}
