/**
 * The runner's handle on one app-server child: spawn, start over IPC, bracket measured windows,
 * stop. Every live child is tracked so the runner can end them all on exit or Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { AppEntry } from './app-entry.js';
import type {
  AppMemory,
  AppMessage,
  AppStartMessage,
  AppStartup,
  AppStats,
  RunnerMessage,
} from './protocol.js';

const START_TIMEOUT_MS = 30_000;
const STATS_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

const live = new Set<ChildProcess>();

/** Kills every child still running (synchronous: usable from `process.on('exit')`). */
export function killAllApps(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export interface AppProcessOptions {
  /** How to run the app server (bundle or tsx). */
  entry: AppEntry;
  /** Write a V8 CPU profile of the child into this directory (`node --cpu-prof`). */
  cpuProfileDir?: string;
  /** More of Node's own flags for the child (e.g. `--expose-gc`). */
  nodeArgs?: readonly string[];
}

export class AppProcess {
  readonly port: number;
  /**
   * Tokens the child issued, live in its registry: its bots' (`start.bots`), then its people's
   * personal access tokens (`start.personalTokens`).
   */
  readonly issuedTokens: readonly string[];
  /** When the child built its gate (`null` without one). */
  readonly startup: AppStartup | null;
  readonly #child: ChildProcess;

  private constructor(
    child: ChildProcess,
    ready: { port: number; issuedTokens: readonly string[]; startup: AppStartup | null },
  ) {
    this.#child = child;
    this.port = ready.port;
    this.issuedTokens = ready.issuedTokens;
    this.startup = ready.startup;
  }

  /** Spawns the child and builds its app; resolves once it listens. */
  static async start(start: AppStartMessage, options: AppProcessOptions): Promise<AppProcess> {
    const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...profile, ...options.entry.args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    try {
      const ready = await reply(child, 'ready', START_TIMEOUT_MS, () =>
        child.send(start satisfies RunnerMessage),
      );
      return new AppProcess(child, ready);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts a measured window: CPU, peak RSS and JWKS fetches count from now. */
  reset(): void {
    this.#child.send({ type: 'reset' } satisfies RunnerMessage);
  }

  /** Ends the window: the child's numbers since the last {@link reset}. */
  async stats(): Promise<AppStats> {
    const { type: _type, ...stats } = await reply(this.#child, 'stats', STATS_TIMEOUT_MS, () =>
      this.#child.send({ type: 'stats' } satisfies RunnerMessage),
    );
    return stats;
  }

  /** The child's memory now (after a full collection if it runs with `--expose-gc`). */
  async memory(): Promise<AppMemory> {
    const { type: _type, ...memory } = await reply(this.#child, 'memory', STATS_TIMEOUT_MS, () =>
      this.#child.send({ type: 'memory' } satisfies RunnerMessage),
    );
    return memory;
  }

  /** Lets the child exit on its own (so a CPU profile gets written), then makes sure it is gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

/** Sends via `ask` and waits for the child's message of `type` (or its error, exit, or a timeout). */
function reply<T extends AppMessage['type']>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
  ask: () => void,
): Promise<Extract<AppMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: AppMessage): void => {
      if (message.type === 'error') {
        cleanup();
        reject(new Error(`app server failed: ${message.message}`));
      } else if (message.type === type) {
        cleanup();
        resolve(message as Extract<AppMessage, { type: T }>);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`app server exited (code ${code}, signal ${signal}) while waiting for "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`app server did not answer "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
    ask();
  });
}
