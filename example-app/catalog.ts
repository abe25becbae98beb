import { badRequest } from '../lib/index.js';

/** The example app's own data: tables and lineage edges, in memory. */
export interface Table {
  name: string;
  columns: Array<{ name: string; dataType: string }>;
  updatedBy: string;
  updatedAt: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  addedBy: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function createCatalog() {
  const tables = new Map<string, Table>();
  const lineage: LineageEdge[] = [];

  return {
    listTables: (): Table[] => [...tables.values()],
    listLineage: (): LineageEdge[] => [...lineage],
    /** Creates or replaces a table (ingestion re-runs are idempotent). */
    putTable(body: unknown, by: string): Table {
      const input = body as { name?: unknown; columns?: unknown } | null;
      if (typeof input?.name !== 'string' || !NAME.test(input.name)) {
        throw badRequest('A table needs a "name" of letters, digits, "_", "." or "-".');
      }
      const columns = Array.isArray(input.columns) ? input.columns : [];
      const table: Table = {
        name: input.name,
        columns: columns
          .filter(
            (c): c is { name: string; dataType?: unknown } =>
              typeof (c as { name?: unknown })?.name === 'string',
          )
          .map((c) => ({ name: c.name, dataType: typeof c.dataType === 'string' ? c.dataType : 'STRING' })),
        updatedBy: by,
        updatedAt: new Date().toISOString(),
      };
      tables.set(table.name, table);
      return table;
    },
    addLineage(body: unknown, by: string): LineageEdge {
      const input = body as { from?: unknown; to?: unknown } | null;
      if (
        typeof input?.from !== 'string' ||
        typeof input.to !== 'string' ||
        !tables.has(input.from) ||
        !tables.has(input.to)
      ) {
        throw badRequest('Lineage needs "from" and "to" naming existing tables.');
      }
      const edge = { from: input.from, to: input.to, addedBy: by };
      lineage.push(edge);
      return edge;
    },
  };
}
