// Runs the CLI from source: `npx tsx lib/cli/run.ts keys generate --out ./conf`.
import { main } from './main.js';

void main(process.argv).then((code) => {
  process.exitCode = code;
});
