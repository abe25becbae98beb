/** A set of listeners. One throwing listener never stops the others nor the write that emitted. */
export class Listeners<T> {
  readonly #listeners = new Set<(value: T) => void>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds `listener`; returns the function that removes it. */
  add(listener: (value: T) => void): () => void {
    // Wrap so the same function can subscribe twice and unsubscribe each independently.
    const entry = (value: T): void => listener(value);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (error) {
        process.emitWarning(`jwt-gate store listener threw: ${String(error)}`, 'JwtGateStoreWarning');
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
