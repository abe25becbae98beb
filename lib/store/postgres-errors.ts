import { ConfigError, JwtGateError, conflict } from '../errors.js';
import { DATABASE_URL_FIELD, storeUnavailable } from './store-errors.js';

/**
 * Maps `pg` errors to ours. Outages (a network error or a driver timeout; SQLSTATE class 08
 * connection, 53 resources, 57P shutdown; 40001/40P01 serialisation failure or deadlock) become 503
 * `ERR_STORE_UNAVAILABLE`, worth a retry. At start (`starting`), bad credentials or a missing
 * database are configuration mistakes.
 */
export function translatePostgresError(error: unknown, starting: boolean): Error {
  if (error instanceof JwtGateError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (starting && sqlState !== undefined && (sqlState.startsWith('28') || sqlState === '3D000')) {
    const reason = error instanceof Error ? error.message : sqlState;
    return new ConfigError(`${DATABASE_URL_FIELD}: PostgreSQL refused the connection (${reason}).`, {
      cause: error,
    });
  }
  if (sqlState === '23505') return conflict('That record already exists.');
  const driverOutage =
    sqlState === undefined &&
    ((typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
      (error instanceof Error && /timeout|terminated|connection|not queryable/i.test(error.message)));
  if (driverOutage || (sqlState !== undefined && /^(08|53|57P|40001|40P01)/.test(sqlState))) {
    return storeUnavailable('PostgreSQL', error);
  }
  return error instanceof Error ? error : new Error(String(error));
}
