import { SettingDefault, type DefaultsBlock } from './defaults.js';
import type { Env } from './env-substitution.js';
import type { ConfigPath, ProvenanceRecorder } from './provenance.js';

/** How absent values are filled: from YAML (environment variables apply) or a typed options object. */
export type DefaultsMode =
  | { readonly kind: 'yaml'; readonly env: Env; readonly provenance: ProvenanceRecorder }
  | { readonly kind: 'options' };

/**
 * Fills every value the input leaves out from the defaults table. A block that is absent or
 * written empty (`airflowConfiguration:` with nothing under it) gets all its defaults.
 *
 * For YAML, a key the file leaves out behaves as if the reference line were there: its
 * environment variable still applies (`SERVER_PORT` sets `server.port` even when the file has no
 * `server` block). A typed options object never reads the environment.
 * Values of the wrong kind are left as they are, for the schema to report.
 */
export function applyDefaults(
  input: unknown,
  defaults: DefaultsBlock,
  mode: DefaultsMode,
  path: ConfigPath = [],
): unknown {
  if (input !== undefined && input !== null && !isPlainObject(input)) return input;
  const result: Record<string, unknown> = { ...input };
  for (const [key, entry] of Object.entries(defaults)) {
    const at = [...path, key];
    if (!(entry instanceof SettingDefault)) {
      result[key] = applyDefaults(result[key], entry, mode, at);
      continue;
    }
    if (result[key] !== undefined) continue;
    const value = defaultFor(entry, mode, at);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

function defaultFor(entry: SettingDefault, mode: DefaultsMode, path: ConfigPath): unknown {
  if (mode.kind === 'options') return structuredClone(entry.value);
  if (entry.env !== undefined) {
    const fromEnv = mode.env[entry.env];
    const isSet = fromEnv !== undefined && fromEnv !== '';
    mode.provenance.record(path, [{ name: entry.env, isSet }]);
    if (isSet) return fromEnv;
  }
  return structuredClone(entry.yamlValue);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
