/**
 * The IPC messages between the bench runner and an app-server child process. The child's CPU
 * time and memory are read inside the child (`process.cpuUsage()`, `process.memoryUsage.rss()`),
 * so the load generator's own work never counts as the server's.
 */
import type { PeerName } from './peers.js';

/**
 * `bare`: Express with the same route and no authentication. `noop`: bare Express plus one
 * middleware that only calls `next()` — what any `app.use` layer costs. `rsa-floor`: bare Express plus one
 * RS256 signature check of the bearer token with `crypto.verify` — the least any verifier of a
 * never-seen token must do, so the best ratio a distinct-token scenario can reach on this machine
 * with the arithmetic on the event loop. `rsa-floor-async`: the same check on libuv's thread pool.
 * `dpop-floor`: bare Express plus one ES256 check of the request's DPoP proof with the key its header
 * carries (header decoded, key imported, `crypto.verify`; nothing else) — what no DPoP verifier can
 * skip. `gate`: the route behind jwt-gate. `peer`: the route behind one peer library (`peer`).
 */
export type AppMode = 'bare' | 'noop' | 'rsa-floor' | 'rsa-floor-async' | 'dpop-floor' | 'gate' | 'peer';

/** Everything the child needs to build its app; sent once, right after the child starts. */
export interface AppStartMessage {
  type: 'start';
  mode: AppMode;
  /** The bench JWKS server's JWKS URL (the SSO source of the gate). */
  jwksUri: string;
  /** Our own signing key (PKCS#8 PEM) and its `kid`: the runner mints tokens with the same key. */
  selfPrivateKeyPem: string;
  selfKid: string;
  /** `verificationConfiguration.cache.maxEntries`. */
  cacheMaxEntries: number;
  /** `verificationConfiguration.engine`. */
  engine: 'direct' | 'passport';
  /** `verificationConfiguration.offloadSignatures`. */
  offloadSignatures: boolean;
  /** `verificationConfiguration.jwks.cooldownSeconds`. */
  cooldownSeconds: number;
  /**
   * Bots to create in the gate's bot store, each with a current token, sent back in `ready`.
   * Bot tokens must come from the process whose registry knows them as current.
   */
  bots: number;
  /** With `bots`: bind their tokens to this DPoP key thumbprint (`cnf.jkt`). */
  dpopJkt?: string;
  /**
   * People to whom the gate issues one personal access token each (`gate.personalTokens.generate`),
   * sent back in `ready` after the bots' tokens. Like bot tokens, only the issuing store makes them live.
   */
  personalTokens: number;
  /**
   * The gate's bot store: `memory:`, or a fresh SQLite file (each bot-token check then reads
   * SQLite's `data_version`, so another process's revocation applies on the next request).
   */
  store: 'memory' | 'sqlite';
  /** With `store: 'sqlite'`: this existing file instead of a fresh one (left in place at exit). */
  sqlitePath?: string;
  /** `peer` mode: which library guards the route. */
  peer?: PeerName;
}

/**
 * Runner → child. `reset` starts a measured window; `stats` ends it and asks for the numbers;
 * `memory` asks for the heap and RSS now, after a full garbage collection when Node runs with
 * `--expose-gc`.
 */
export type RunnerMessage = AppStartMessage | { type: 'reset' } | { type: 'stats' } | { type: 'memory' };

/** The child's memory when asked (`process.memoryUsage()`), bytes. */
export interface AppMemory {
  rssBytes: number;
  heapUsedBytes: number;
  /** V8's committed heap: above `heapUsedBytes` by what a collection freed but kept. */
  heapTotalBytes: number;
  /** Memory of C++ objects bound to JavaScript ones (native buffers, better-sqlite3's). */
  externalBytes: number;
  /** Whether a full collection ran first (`--expose-gc`). */
  collected: boolean;
}

/** When the child built the gate, epoch ms (`null` for apps without one). */
export interface AppStartup {
  /** Right before `createJwtGate`. */
  gateStartedAt: number;
  /** When `createJwtGate` resolved (store opened, registry loaded, keys fetched). */
  gateReadyAt: number;
}

/** The child's numbers for the window since the last `reset`. */
export interface AppStats {
  /** User + system CPU time of the server process, µs. */
  cpuMicros: number;
  /** Highest sampled RSS in the window, bytes. */
  peakRssBytes: number;
  /** JWKS fetches the gate's remote sources made in the window (`null` for bare). */
  jwksFetches: number | null;
  /** The gate's configured verified-token cache size (`null` for bare). */
  cacheMaxEntries: number | null;
}

/** Child → runner. */
export type AppMessage =
  | { type: 'ready'; port: number; issuedTokens: string[]; startup: AppStartup | null }
  | ({ type: 'stats' } & AppStats)
  | ({ type: 'memory' } & AppMemory)
  | { type: 'error'; message: string };
