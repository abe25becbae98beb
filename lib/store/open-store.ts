import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { MemoryStore } from './memory-store.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import { DATABASE_URL_FIELD } from './store-errors.js';
import type { BotStore } from './types.js';

export interface OpenStoreOptions {
  /** Directory that relative `sqlite:` paths resolve against. Default `process.cwd()`. */
  baseDir?: string;
  /** PostgreSQL schema for jwt-gate's tables. Default `jwt_gate`. */
  schema?: string;
}

/**
 * Chooses the store for `database.url`; call `init()` on the result before use.
 *
 * - `memory:` — in-process, for tests and demos;
 * - `sqlite:./data/jwt-gate.db` (relative to `baseDir`) or `sqlite:/abs/path.db` — one file;
 * - `postgres://…` or `postgresql://…` — shared by several instances.
 *
 * @example openStore(process.env.DATABASE_URL ?? 'sqlite:./data/jwt-gate.db', { baseDir })
 * @throws ConfigError naming `database.url (DATABASE_URL)` for anything else.
 */
export function openStore(url: string, opts: OpenStoreOptions = {}): BotStore {
  const value = url.trim();
  if (value === 'memory:') return new MemoryStore();
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    if (path === '') {
      throw new ConfigError(
        `${DATABASE_URL_FIELD}: "sqlite:" needs a file path, e.g. sqlite:./data/jwt-gate.db.`,
      );
    }
    return new SqliteStore({ path: isAbsolute(path) ? path : resolve(opts.baseDir ?? process.cwd(), path) });
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    return new PostgresStore(
      opts.schema === undefined ? { url: value } : { url: value, schema: opts.schema },
    );
  }
  // Only the scheme is echoed: the rest of a URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0];
  throw new ConfigError(
    `${DATABASE_URL_FIELD}: unsupported ${scheme === undefined ? 'value' : `scheme "${scheme}"`}; ` +
      'use memory:, sqlite:./path/to/file.db or postgres://user@host:5432/db.',
  );
}
