/**
 * The `jwt-gate` command. Each subcommand group (`keys`, `bots`, …) registers itself from its own
 * file through a `RegisterCommands` function listed in `COMMAND_GROUPS`.
 */
import { Command, CommanderError } from 'commander';
import { registerBotsCommands } from './bots-command.js';
import type { CliIo, RegisterCommands } from './cli-io.js';
import { registerKeysCommands } from './keys-command.js';
import { registerTokensCommands } from './tokens-command.js';

const COMMAND_GROUPS: readonly RegisterCommands[] = [
  registerKeysCommands,
  registerBotsCommands,
  registerTokensCommands,
];

const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** The commander program with every subcommand group registered. */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command('jwt-gate')
    .description('JWT authentication for Express APIs, the OpenMetadata way: keys, bot tokens, JWKS.')
    // Set before any subcommand is added: `.command()` copies these settings to its children.
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .showSuggestionAfterError();
  for (const register of COMMAND_GROUPS) register(program, io);
  return program;
}

/**
 * Runs the CLI and resolves to the process exit code: 0 on success, 1 on any error, which is
 * printed as one line on stderr (never a stack trace).
 *
 * @param argv Node-style: `[node, script, ...args]`, i.e. `process.argv`.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync(argv, { from: 'node' });
    return 0;
  } catch (err) {
    // Commander has already printed its own usage errors and help.
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`jwt-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
