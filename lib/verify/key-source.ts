import type { KeyObject } from 'node:crypto';
import type { ScopeRule } from './scopes.js';

/** Health of one key source, for readiness endpoints. */
export interface KeySourceHealth {
  name: string;
  kind: 'self' | 'remote';
  healthy: boolean;
  keyCount: number;
  /** Age of the keys in use, seconds; 0 for our own keys. */
  keysAgeSeconds: number | null;
  lastError: string | null;
  fetchCount: number;
  stale: boolean;
}

/**
 * Where keys for one trust domain come from, and the policy tokens of that domain must meet.
 * A token is verified only by the source whose `issuers` contain its `iss`.
 */
export interface KeySource {
  /** `self`, or the JWKS URL. */
  readonly name: string;
  readonly kind: 'self' | 'remote';
  readonly issuers: readonly string[];
  /** Required `aud` (one of); `null` skips the audience check (explicit entries only). */
  readonly audiences: readonly string[] | null;
  readonly algorithms: readonly string[];
  /** External tokens must carry `exp`; our own Unlimited bot tokens do not. */
  readonly requireExp: boolean;
  /** A peer jwt-gate whose bot claims count (checked against our bot store). Default false. */
  readonly trustBotClaims?: boolean;
  /** Which claim grants scopes and what a token without it gets. Default: `scope`, then `scp`; none. */
  readonly scopes?: ScopeRule;
  /** A cached key, without I/O; `undefined` when it would need a fetch. */
  getKeySync(kid: string | undefined, alg: string): KeyObject | undefined;
  /** The key for `kid`, fetching under the source's rate limits. Throws 401/503-class errors. */
  getKey(kid: string | undefined, alg: string): Promise<KeyObject>;
  /** Called with kids that stopped being trusted (rotation at the source). */
  onKeysChanged(listener: (removedKids: string[]) => void): () => void;
  prefetch(): Promise<void>;
  health(): KeySourceHealth;
  close(): void;
}
