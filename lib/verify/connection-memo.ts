/**
 * Per connection, the last input seen on it and what it gave. A client on a kept-alive connection
 * sends the same header request after request: an exact comparison of the whole string is cheaper
 * than the work, and gives the same answer (`compute` must be a pure function of its input). What
 * `compute` throws is never remembered; an entry goes away with its connection.
 */
export class ConnectionMemo<T> {
  readonly #last = new WeakMap<object, { input: string; result: T }>();

  /** `compute(input)`, or its result from last time when `input` is the connection's last input. */
  get(connection: object | undefined, input: string, compute: (input: string) => T): T {
    if (connection === undefined) return compute(input);
    const last = this.#last.get(connection);
    if (last !== undefined && last.input === input) return last.result;
    const result = compute(input);
    if (last === undefined) this.#last.set(connection, { input, result });
    else {
      last.input = input;
      last.result = result;
    }
    return result;
  }
}
