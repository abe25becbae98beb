// `jwt-gate/stores`: the bot store behind `database.url`. Drivers are optional peer dependencies,
// loaded only when a URL names them (`better-sqlite3` for sqlite:, `pg` for postgres://).
export { openStore } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { MemoryStore } from './memory-store.js';
export type {
  AuditAction,
  AuditEntry,
  BotRecord,
  BotStore,
  BotTokenRecord,
  ListAuditOptions,
  LivePersonalToken,
  PersonalTokenRecord,
  StoreChange,
  StoreKind,
} from './types.js';
export { ALL_BOTS } from './types.js';
