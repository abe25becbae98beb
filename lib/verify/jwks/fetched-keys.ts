/**
 * The keys a remote source fetched, at one moment, indexed for the per-request lookup, and how a
 * new fetch differs from the previous one (which `kid`s a verified-token cache must forget). Not
 * to be confused with our own keys (`KeySet` in lib/keys), which we sign with and publish.
 */
import type { KeyObject } from 'node:crypto';
import type { VerificationKey } from './import-verification-keys.js';

/** Fetched keys indexed by `kid`, plus all of them (kid-less keys included) in JWKS order. */
export interface FetchedKeys {
  readonly byKid: ReadonlyMap<string, VerificationKey>;
  readonly all: readonly VerificationKey[];
}

/**
 * Builds the keys that replace `previous`. A key unchanged since `previous` keeps its object,
 * so its identity stays stable for caches; `removedKids` lists the `kid`s whose key is gone or
 * was replaced (other material or other algorithms).
 */
export function replaceFetchedKeys(
  previous: FetchedKeys | null,
  keys: readonly VerificationKey[],
): { fetched: FetchedKeys; removedKids: string[] } {
  const byKid = new Map<string, VerificationKey>();
  const all = keys.map((entry) => {
    const old = entry.kid === undefined ? undefined : previous?.byKid.get(entry.kid);
    const kept = old !== undefined && sameKey(old, entry) ? old : entry;
    if (kept.kid !== undefined) byKid.set(kept.kid, kept);
    return kept;
  });
  const removedKids: string[] = [];
  for (const [kid, old] of previous?.byKid ?? []) {
    if (byKid.get(kid) !== old) removedKids.push(kid);
  }
  return { fetched: { byKid, all }, removedKids };
}

/** The key for `alg` when exactly one of the keys fits it; allocation-free. */
export function onlyKeyFor(fetched: FetchedKeys, alg: string): KeyObject | undefined {
  let found: KeyObject | undefined;
  for (const entry of fetched.all) {
    if (!entry.algorithms.has(alg)) continue;
    if (found !== undefined) return undefined;
    found = entry.key;
  }
  return found;
}

/** How many of the keys fit `alg`. */
export function countKeysFor(fetched: FetchedKeys, alg: string): number {
  let count = 0;
  for (const entry of fetched.all) if (entry.algorithms.has(alg)) count++;
  return count;
}

function sameKey(a: VerificationKey, b: VerificationKey): boolean {
  if (!a.key.equals(b.key) || a.algorithms.size !== b.algorithms.size) return false;
  for (const alg of a.algorithms) if (!b.algorithms.has(alg)) return false;
  return true;
}
