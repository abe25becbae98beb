#!/usr/bin/env node
// The jwt-gate command. Runs the built CLI; `npm run build` produces dist/.
import { main } from '../dist/esm/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`jwt-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
