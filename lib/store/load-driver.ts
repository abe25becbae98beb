import { ConfigError } from '../errors.js';
import { DATABASE_URL_FIELD } from './store-errors.js';

/** The store drivers: optional peer dependencies, each needed only by the URLs that name it. */
export type DriverName = 'better-sqlite3' | 'pg';

const NEEDED_BY: Readonly<Record<DriverName, string>> = {
  'better-sqlite3': 'sqlite:',
  pg: 'postgres://',
};

/**
 * Loads a store driver the first time a store needs it, so that an app that never names it in
 * `database.url` neither installs nor loads it.
 *
 * @throws ConfigError naming the package to install when it is missing.
 */
export async function loadDriver<T>(name: DriverName): Promise<T> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(name)) as { default?: unknown };
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new ConfigError(
      `${DATABASE_URL_FIELD} is a ${NEEDED_BY[name]} URL, which needs the driver ${name}, an optional peer dependency of jwt-gate: run \`npm install ${name}\`.`,
      { cause: error },
    );
  }
  // CommonJS packages arrive as `default` when imported from ESM, as themselves when required.
  return (loaded.default ?? loaded) as T;
}

function isMissing(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    error instanceof Error &&
    error.message.includes(`'${name}'`)
  );
}
