/**
 * The keys of one source at one moment, indexed for the per-request lookup, and how a new set
 * differs from the previous one (which `kid`s a verified-token cache must forget).
 */
import type { KeyObject } from 'node:crypto';
import type { VerificationKey } from './import-verification-keys.js';

/** Keys indexed by `kid`, plus all of them (kid-less keys included) in JWKS order. */
export interface KeySet {
  readonly byKid: ReadonlyMap<string, VerificationKey>;
  readonly all: readonly VerificationKey[];
}

/**
 * Builds the set that replaces `previous`. A key unchanged since `previous` keeps its object,
 * so its identity stays stable for caches; `removedKids` lists the `kid`s whose key is gone or
 * was replaced (other material or other algorithms).
 */
export function replaceKeySet(
  previous: KeySet | null,
  keys: readonly VerificationKey[],
): { keySet: KeySet; removedKids: string[] } {
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
  return { keySet: { byKid, all }, removedKids };
}

/** The key for `alg` when exactly one key of the set fits it; allocation-free. */
export function onlyKeyFor(keySet: KeySet, alg: string): KeyObject | undefined {
  let found: KeyObject | undefined;
  for (const entry of keySet.all) {
    if (!entry.algorithms.has(alg)) continue;
    if (found !== undefined) return undefined;
    found = entry.key;
  }
  return found;
}

/** How many keys of the set fit `alg`. */
export function countKeysFor(keySet: KeySet, alg: string): number {
  let count = 0;
  for (const entry of keySet.all) if (entry.algorithms.has(alg)) count++;
  return count;
}

function sameKey(a: VerificationKey, b: VerificationKey): boolean {
  if (!a.key.equals(b.key) || a.algorithms.size !== b.algorithms.size) return false;
  for (const alg of a.algorithms) if (!b.algorithms.has(alg)) return false;
  return true;
}
