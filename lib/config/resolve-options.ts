import { resolve } from 'node:path';

import { applyDefaults } from './apply-defaults.js';
import { CONFIG_DEFAULTS } from './defaults.js';
import { parseConfig } from './parse-config.js';
import { ProvenanceRecorder } from './provenance.js';
import type { ConfigProvenance, JwtGateOptions, ResolvedConfig } from './types.js';

/**
 * Resolves a typed options object (every block and field optional) into the full configuration,
 * with the same defaults and validation as `loadConfig()`. The environment is not read; key paths
 * have no default (set `rsaprivateKeyFilePath`/`rsaprivateKey` and the public counterparts).
 * A `ResolvedConfig` may be passed back in unchanged: its provenance is kept.
 *
 * @param options.baseDir Directory relative key paths resolve against. Default: `process.cwd()`.
 * @throws ConfigError listing every problem, each with its path and the fix.
 * @example
 *   resolveOptions({ jwtTokenConfiguration: { jwtissuer: 'https://api.example.com', keyId: 'k1' } });
 */
export function resolveOptions(options: JwtGateOptions = {}): ResolvedConfig {
  const { baseDir, provenance, ...blocks } = options as JwtGateOptions & { provenance?: ConfigProvenance };
  return parseConfig(applyDefaults(blocks, CONFIG_DEFAULTS, { kind: 'options' }), {
    source: 'options',
    baseDir: resolve(baseDir ?? process.cwd()),
    provenance: provenance ?? new ProvenanceRecorder(),
  });
}
