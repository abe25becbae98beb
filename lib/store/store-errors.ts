import { ConfigError, ServiceUnavailableError } from '../errors.js';

/** How configuration errors name the store's setting. */
export const DATABASE_URL_FIELD = 'database.url (DATABASE_URL)';

/** 503 `ERR_STORE_UNAVAILABLE`: callers fail closed and clients retry. `cause` keeps the detail. */
export function storeUnavailable(kind: string, cause: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_STORE_UNAVAILABLE',
    `The ${kind} bot store is unavailable; retry later.`,
    5,
    {
      cause,
    },
  );
}

/** The database was written by a newer jwt-gate: refuse rather than misread it. */
export function schemaTooNew(found: number, supported: number): ConfigError {
  return new ConfigError(
    `${DATABASE_URL_FIELD}: the database schema is at version ${found}, but this jwt-gate supports up to ` +
      `version ${supported}. Upgrade jwt-gate, or point the setting at another database.`,
  );
}
