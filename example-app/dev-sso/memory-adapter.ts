import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms after which the entry is gone; `Infinity` when oidc-provider gave no lifetime. */
  expiresAt: number;
}

/**
 * A per-provider in-memory store for oidc-provider's sessions, interactions, codes and grants.
 *
 * oidc-provider has one built in, but using it prints a warning on every start (which would spam
 * test output) and shares one store across every provider in the process; this one belongs to a
 * single dev SSO instance and is dropped with it. Development only: nothing survives a restart.
 *
 * @returns an adapter class to pass as oidc-provider's `adapter` option.
 */
export function createMemoryAdapter(): new (model: string) => Adapter {
  const entries = new Map<string, Entry>();

  function live(key: string): AdapterPayload | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  function dropExpired(): void {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  }

  return class DevMemoryAdapter implements Adapter {
    readonly #model: string;

    constructor(model: string) {
      this.#model = model;
    }

    #key(id: string): string {
      return `${this.#model}:${id}`;
    }

    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      // Cheap housekeeping on write keeps a long-running dev server from growing without bound.
      dropExpired();
      const expiresAt =
        Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : Infinity;
      entries.set(this.#key(id), { payload, expiresAt });
      return Promise.resolve();
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return Promise.resolve(live(this.#key(id)));
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return Promise.resolve(this.#findWhere((payload) => payload.uid === uid));
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return Promise.resolve(this.#findWhere((payload) => payload.userCode === userCode));
    }

    consume(id: string): Promise<void> {
      const payload = live(this.#key(id));
      if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }

    destroy(id: string): Promise<void> {
      entries.delete(this.#key(id));
      return Promise.resolve();
    }

    revokeByGrantId(grantId: string): Promise<void> {
      // Called on the adapter of each grantable model (codes, access tokens, …) when a grant goes.
      const prefix = `${this.#model}:`;
      for (const [key, entry] of entries) {
        if (key.startsWith(prefix) && entry.payload.grantId === grantId) entries.delete(key);
      }
      return Promise.resolve();
    }

    #findWhere(matches: (payload: AdapterPayload) => boolean): AdapterPayload | undefined {
      const prefix = `${this.#model}:`;
      for (const key of entries.keys()) {
        if (!key.startsWith(prefix)) continue;
        const payload = live(key);
        if (payload !== undefined && matches(payload)) return payload;
      }
      return undefined;
    }
  };
}
