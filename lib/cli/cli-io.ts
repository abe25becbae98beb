/** What every subcommand group of the `jwt-gate` command is given; shared by `main.ts` and the groups. */
import type { Command } from 'commander';

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Adds one subcommand group to the program. Actions throw on failure; `main` reports it. */
export type RegisterCommands = (program: Command, io: CliIo) => void;
