/**
 * `npm run ingest [-- workflow.yaml]` (or `npx tsx example-app/ingest.ts [workflow.yaml]`): runs the
 * reference's ingestion shape against the example API — tables, then lineage between them — with
 * the bot token the workflow file names (default example-app/ingestion/workflow.yaml, which reads
 * ./ingestion-bot.token next to it). Exits 1 with the client's explanation when a call fails.
 */
import path from 'node:path';
import { runIngestion, SAMPLE_TABLES } from './run-ingestion.js';

const DEFAULT_WORKFLOW = path.join(import.meta.dirname, 'ingestion', 'workflow.yaml');
const workflowPath = path.resolve(process.argv[2] ?? DEFAULT_WORKFLOW);

try {
  const result = await runIngestion(workflowPath);
  console.log(`jwt-gate ingestion (${workflowPath}):`);
  console.log(
    `  tables created or updated  ${result.created}  (${SAMPLE_TABLES.map((t) => t.name).join(', ')})`,
  );
  console.log(`  lineage edges added        ${result.lineageEdges}`);
} catch (err) {
  // The client's errors name the server, the status, what the server said and the fix — never the token.
  console.error(`jwt-gate ingestion failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
