import { createIngestionClient, type IngestionClientOptions } from '../lib/client/index.js';
import { loadWorkflowConfig } from '../lib/client/index.js';

/** A table as the demonstration sends it to `POST /v1/tables`. */
export interface SampleTable {
  name: string;
  description?: string;
  columns: Array<{ name: string; dataType: string }>;
}

/** What `runIngestion` sends when given no records: a raw table and the table derived from it. */
export const SAMPLE_TABLES: readonly SampleTable[] = [
  {
    name: 'raw_orders',
    description: 'Orders as they arrive from the shop',
    columns: [
      { name: 'order_id', dataType: 'BIGINT' },
      { name: 'customer_email', dataType: 'VARCHAR' },
      { name: 'amount_cents', dataType: 'BIGINT' },
      { name: 'placed_at', dataType: 'TIMESTAMP' },
    ],
  },
  {
    name: 'daily_revenue',
    description: 'Revenue per day, computed from raw_orders',
    columns: [
      { name: 'day', dataType: 'DATE' },
      { name: 'revenue_cents', dataType: 'BIGINT' },
    ],
  },
];

export interface RunIngestionOptions extends IngestionClientOptions {
  /** Environment for `${VAR}` in the workflow file. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface RunIngestionResult {
  /** Tables the server accepted. */
  created: number;
  /** Lineage edges the server accepted. */
  lineageEdges: number;
}

/**
 * A demonstration of the reference's ingestion shape: read the workflow file, then, with the bot
 * token it names, `POST /v1/tables` for each record and `POST /v1/lineage` with `{ from, to }`
 * (table names) from each table to the next — `raw_orders → daily_revenue` for the samples.
 *
 * @param workflowPath the workflow YAML (see `loadWorkflowConfig`).
 * @param records table bodies, each an object with a string `name`. Default `SAMPLE_TABLES`.
 * @throws ConfigError for a bad workflow file; IngestionAuthError / IngestionRequestError when a
 *   call fails; TypeError for a record without a name.
 */
export async function runIngestion(
  workflowPath: string,
  records?: unknown[],
  options: RunIngestionOptions = {},
): Promise<RunIngestionResult> {
  const tables = (records ?? SAMPLE_TABLES).map((record, index) => tableName(record, index));
  const client = createIngestionClient(loadWorkflowConfig(workflowPath, options.env), options);
  let created = 0;
  for (const { record } of tables) {
    await client.post('/v1/tables', record);
    created += 1;
  }
  let lineageEdges = 0;
  for (let index = 1; index < tables.length; index += 1) {
    await client.post('/v1/lineage', { from: tables[index - 1]?.name, to: tables[index]?.name });
    lineageEdges += 1;
  }
  return { created, lineageEdges };
}

function tableName(record: unknown, index: number): { name: string; record: unknown } {
  const name =
    record !== null && typeof record === 'object' ? (record as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`records[${index}] must be an object with a non-empty string name`);
  }
  return { name, record };
}
