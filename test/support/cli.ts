/** Running the `jwt-gate` command in tests: in this process (fast) or as a real child process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../../lib/cli/cli-io.js';
import { main } from '../../lib/cli/main.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `main` in this process with captured output (the same code path as the bin). */
export async function runMain(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (text) => void (stdout += text), err: (text) => void (stderr += text) };
  const code = await main(['node', 'jwt-gate', ...args], io);
  return { code, stdout, stderr };
}

/** The real command in a child process, as a user (or another process on the same store) runs it. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'lib/cli/run.ts', ...args],
      { cwd: ROOT, env },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      },
    );
  });
}

/** Exit code 1, nothing on stdout, one line on stderr matching `pattern`, no stack trace. */
export function assertOneLineError(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr.trimEnd().split('\n').length,
    1,
    `one line expected, got ${JSON.stringify(result.stderr)}`,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.match(result.stderr, pattern);
}
