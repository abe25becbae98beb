/**
 * A short, bounded negative cache of `kid`s a refresh just found missing, so that asking again
 * for them does not trigger another fetch. Bounded in entries and `kid` length: the `kid`s come
 * from attackers' tokens, and the cache must never grow with a flood.
 */

/** Most `kid`s remembered; the oldest is forgotten first. */
const MAX_ENTRIES = 1024;
/** Longer `kid`s are not remembered (the fetch cooldown still protects against them). */
const MAX_KID_LENGTH = 256;

export class MissingKids {
  /** `kid` → until when (ms) it counts as missing. Map order is insertion order: oldest first. */
  private readonly until = new Map<string, number>();

  has(kid: string | undefined, now: number): boolean {
    if (kid === undefined) return false;
    const until = this.until.get(kid);
    if (until === undefined) return false;
    if (now < until) return true;
    this.until.delete(kid);
    return false;
  }

  remember(kid: string | undefined, until: number): void {
    if (kid === undefined || kid.length > MAX_KID_LENGTH) return;
    this.until.delete(kid);
    if (this.until.size >= MAX_ENTRIES) {
      const oldest = this.until.keys().next();
      if (oldest.done !== true) this.until.delete(oldest.value);
    }
    this.until.set(kid, until);
  }

  clear(): void {
    this.until.clear();
  }
}
