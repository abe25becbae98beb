import { configError, issuesToProblems, type ConfigProblem } from './config-problems.js';
import { ProvenanceRecorder, type ConfigPath } from './provenance.js';
import { configSchema, type ConfigBlocks } from './schema.js';
import type { ConfigProvenance, ResolvedConfig } from './types.js';

/** What `parseConfig` needs besides the (defaults-filled) input. */
export interface ParseConfigContext {
  readonly source: string;
  readonly baseDir: string;
  readonly provenance: ConfigProvenance;
  /** Problems found before the schema ran (e.g. an unset `${VAR}`). */
  readonly earlierProblems?: readonly ConfigProblem[];
  readonly lineOf?: (path: ConfigPath) => number | undefined;
}

/**
 * Validates defaults-filled input against the one schema shared by YAML and options, and throws
 * a single `ConfigError` listing every problem.
 */
export function parseConfig(input: unknown, context: ParseConfigContext): ResolvedConfig {
  const earlier = context.earlierProblems ?? [];
  const result = configSchema.safeParse(input, { reportInput: true });
  // A value that could not be substituted is reported once, not again as a schema problem.
  const schemaProblems = result.success
    ? []
    : issuesToProblems(result.error.issues, configSchema).filter(
        (problem) => !earlier.some((failed) => isWithin(problem.path, failed.path)),
      );
  const problems = [...earlier, ...schemaProblems];
  if (!result.success || problems.length > 0) {
    throw configError(problems, {
      source: context.source,
      describe: (path) => context.provenance.describe(path),
      lineOf: context.lineOf,
      referencesOf: (path) =>
        context.provenance instanceof ProvenanceRecorder ? context.provenance.referencesOf(path) : [],
    });
  }
  const blocks: ConfigBlocks = result.data;
  return { ...blocks, provenance: context.provenance, baseDir: context.baseDir };
}

function isWithin(path: ConfigPath, ancestor: ConfigPath): boolean {
  return ancestor.length <= path.length && ancestor.every((segment, index) => path[index] === segment);
}
