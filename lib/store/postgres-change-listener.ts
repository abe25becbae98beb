import type pg from 'pg';

export interface PostgresChangeListenerOptions {
  /** The `pg` module, loaded by the store (an optional peer dependency). */
  driver: typeof pg;
  /** Connection settings of the dedicated LISTEN connection. */
  client: pg.ClientConfig;
  /** Channel name, unquoted. */
  channel: string;
  onNotification(payload: string): void;
  /** After a reconnect: notifications may have been missed while the connection was down. */
  onResync(): void;
  onHealth(healthy: boolean): void;
  /** First reconnect delay, ms; doubles up to `maxBackoffMs`. Default 100. */
  minBackoffMs?: number;
  /** Longest reconnect delay, ms. Default 5000. */
  maxBackoffMs?: number;
  /** How often the connection is probed, so a silently dead peer is noticed, ms. Default 5000. */
  heartbeatMs?: number;
}

/**
 * A dedicated connection that LISTENs on one channel (pool connections cannot: they are shared and
 * recycled). When it drops it reports unhealthy, reconnects with exponential backoff on unref'd
 * timers, and on success asks for a full resync before reporting healthy again.
 */
export class PostgresChangeListener {
  readonly #options: Required<PostgresChangeListenerOptions>;
  #client: pg.Client | undefined;
  #healthy = false;
  #stopped = false;
  #backoffMs: number;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: PostgresChangeListenerOptions) {
    this.#options = { minBackoffMs: 100, maxBackoffMs: 5000, heartbeatMs: 5000, ...options };
    this.#backoffMs = this.#options.minBackoffMs;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Connects and LISTENs; rejects if the first attempt fails. */
  async start(): Promise<void> {
    if (this.#client !== undefined || this.#stopped) return;
    this.#client = await this.#connect();
    this.#healthy = true;
    this.#heartbeat = setInterval(() => this.#probe(), this.#options.heartbeatMs);
    this.#heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    this.#healthy = false;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<pg.Client> {
    const client = new this.#options.driver.Client(this.#options.client);
    // Attached before connect: an 'error' event without a handler would crash the process.
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (message) => {
      if (message.channel === this.#options.channel) this.#options.onNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#options.channel}"`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  #lost(client: pg.Client): void {
    if (client !== this.#client || this.#stopped) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    if (this.#healthy) {
      this.#healthy = false;
      this.#options.onHealth(false);
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), this.#backoffMs);
    this.#reconnectTimer.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.maxBackoffMs);
  }

  async #reconnect(): Promise<void> {
    let client: pg.Client;
    try {
      client = await this.#connect();
    } catch {
      this.#scheduleReconnect();
      return;
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#backoffMs = this.#options.minBackoffMs;
    this.#healthy = true;
    this.#options.onResync();
    this.#options.onHealth(true);
  }

  /** A query on the LISTEN connection: fails (query_timeout) if the peer vanished without a FIN. */
  #probe(): void {
    const client = this.#client;
    client?.query('SELECT 1').catch(() => this.#lost(client));
  }
}
