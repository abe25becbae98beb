/** What the store-backed command groups (`bots`, `tokens`) share: config, store, key, output. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import type { ResolvedConfig } from '../config/types.js';
import { loadKeySet } from '../keys/load-key-set.js';
import { openStore } from '../store/open-store.js';
import type { BotStore } from '../store/types.js';
import { type MintClaims, type MintedToken, mintToken } from '../tokens/mint-token.js';

/** The configuration file used when neither `--config` nor `JWT_GATE_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = 'example-app/conf/jwt-gate.yaml';

/** Recorded as the actor of every change made from the command line. */
export const CLI_ACTOR = 'cli';

export interface ConfigOptions {
  config?: string;
}

export type MintFn = (claims: MintClaims, nowMs?: number) => MintedToken;

/** Collects a repeated option (`--scope a --scope b`) into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds `--config <file>`. */
export function withConfig(command: Command): Command {
  return command.option(
    '--config <file>',
    `jwt-gate YAML configuration (default: $JWT_GATE_CONFIG, else ${DEFAULT_CONFIG_PATH})`,
  );
}

/**
 * Loads the configuration, opens and migrates its store, runs `use`, closes the store. Any failure
 * becomes one line, which `main` prints on stderr (multi-problem config errors included).
 */
export async function withStore(
  options: ConfigOptions,
  use: (store: BotStore, config: ResolvedConfig) => Promise<void>,
): Promise<void> {
  try {
    const config = loadConfig({ path: options.config ?? process.env.JWT_GATE_CONFIG ?? DEFAULT_CONFIG_PATH });
    const store = openStore(config.database.url, { baseDir: config.baseDir });
    try {
      await store.init();
      await use(store, config);
    } finally {
      await store.close();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(message.replace(/\s*\n\s*/g, '; '), { cause: error });
  }
}

/** Signs with the configured key, loaded on first use: only minting commands need (and check) it. */
export function lazyMinter(config: ResolvedConfig): MintFn {
  let mint: MintFn | undefined;
  return (claims, nowMs) => {
    mint ??= minterOf(config);
    return mint(claims, nowMs);
  };
}

function minterOf(config: ResolvedConfig): MintFn {
  const keySet = loadKeySet(config.jwtTokenConfiguration, {
    baseDir: config.baseDir,
    provenance: config.provenance,
  });
  const issuer = {
    issuer: config.jwtTokenConfiguration.jwtissuer,
    audience: config.jwtTokenConfiguration.audience,
    key: keySet.signing,
  };
  return (claims, nowMs) => mintToken(issuer, claims, nowMs);
}

/** Rows as a plain-text table: columns padded to their widest cell, two spaces apart. */
export function textTable(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, col) => cell.padEnd(widths[col]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** Epoch ms as ISO 8601 to the second. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
