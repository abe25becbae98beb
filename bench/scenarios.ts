/**
 * The scenarios of the bench: five references without jwt-gate (bare Express, the reference every
 * other run is paired with; bare Express plus a no-op middleware; bare Express plus one RSA
 * signature check, on the event loop and on libuv's thread pool; bare Express plus one DPoP proof
 * signature check) and the gate with hot and distinct tokens of each kind, and DPoP-bound bot
 * tokens with a fresh proof per request. A hot token is served from the verified-token cache;
 * distinct tokens rotate through more tokens than the cache holds, so every request is verified
 * from scratch.
 */
import type { BenchOptions } from './options.js';
import { PEERS, type PeerName } from './peers.js';
import type { ScenarioDef } from './report.js';

export interface Scenario extends ScenarioDef {
  /**
   * Rotated per request (one token: the same one every time). `{bots: n}`: the app process creates
   * n bots and their tokens, since only its own bot registry knows which tokens are current;
   * `{personal: n}`: it issues n people one personal access token each, for the same reason.
   */
  tokens: readonly string[] | { bots: number } | { personal: number };
  /**
   * Sent as `Authorization: DPoP <token>` with a fresh proof per request, by the runner's DPoP key
   * (dpop-proofs.ts); with `{bots: n}`, the bots' tokens are bound to that key (`cnf.jkt`).
   */
  dpop?: boolean;
}

/** Tokens minted before the load (see tokens.ts). */
export interface BenchTokens {
  own: readonly string[];
  sso: readonly string[];
}

/** Name of the unknown-kid flood in `--only`. */
export const FLOOD = 'flood';
/** Name of the memory and start-up measurement at many live personal tokens in `--only`. */
export const PERSONAL_SCALE = 'personal-scale';
/** Name of the DPoP replay-cache memory measurement at 1,000,000 proofs in `--only`. */
export const DPOP_REPLAY = 'dpop-replay';
/** Name of all peer scenarios in `--only`. */
export const PEER_GROUP = 'peers';

export function defineScenarios(tokens: BenchTokens, options: BenchOptions): Scenario[] {
  const n = options.distinctTokens.toLocaleString('en');
  const miss = `cache max ${options.cacheMaxEntries.toLocaleString('en')} < ${n}: every request a cache miss`;
  return [
    {
      name: 'bare',
      mode: 'bare',
      minRatio: null,
      tokens: tokens.own,
      description: `bare Express, same route; measured alongside every run, with that run's Authorization headers (ignored)`,
    },
    {
      name: 'noop',
      mode: 'noop',
      minRatio: null,
      tokens: tokens.own,
      description: `reference without jwt-gate: bare Express + one app.use middleware that only calls next() (what any middleware layer costs)`,
    },
    {
      name: 'rsa-floor',
      mode: 'rsa-floor',
      minRatio: null,
      tokens: tokens.own,
      description: `reference without jwt-gate: bare Express + crypto.verify of each token's RS256 signature (the best any distinct-token verifier can do)`,
    },
    {
      name: 'rsa-floor-async',
      mode: 'rsa-floor-async',
      minRatio: null,
      tokens: tokens.own,
      description: `reference without jwt-gate: as rsa-floor, with crypto.verify on libuv's thread pool (the best an off-the-event-loop verifier can do)`,
    },
    {
      name: 'dpop-floor',
      mode: 'dpop-floor',
      minRatio: null,
      dpop: true,
      tokens: tokens.own.slice(0, 1),
      description: `reference without jwt-gate: bare Express + one ES256 crypto.verify of each request's DPoP proof with the key in its header (sent as the dpop rows send)`,
    },
    {
      name: 'hot',
      mode: 'gate',
      minRatio: 0.95,
      tokens: tokens.own.slice(0, 1),
      description: 'one of our own OM_USER tokens on every request (a user token: no registry check)',
    },
    {
      name: 'distinct',
      mode: 'gate',
      minRatio: 0.75,
      floor: 'rsa-floor-async',
      tokens: tokens.own,
      description: `${n} distinct own OM_USER tokens in rotation; ${miss}`,
    },
    {
      name: 'distinct-inline',
      mode: 'gate',
      minRatio: null,
      offloadSignatures: false,
      tokens: tokens.own,
      description: `as distinct, with offloadSignatures: false (crypto.verify on the event loop); for comparison`,
    },
    {
      name: 'distinct-pp',
      mode: 'gate',
      minRatio: null,
      engine: 'passport',
      tokens: tokens.own,
      description: `as distinct, with engine: passport (each miss through the source's passport-jwt strategy); for comparison`,
    },
    {
      name: 'sso',
      mode: 'gate',
      minRatio: 0.95,
      tokens: tokens.sso.slice(0, 1),
      description: 'one SSO token (key from the remote JWKS) on every request',
    },
    {
      name: 'sso-distinct',
      mode: 'gate',
      minRatio: 0.75,
      floor: 'rsa-floor-async',
      tokens: tokens.sso,
      description: `${n} distinct SSO tokens in rotation; ${miss}`,
    },
    {
      name: 'bot',
      mode: 'gate',
      minRatio: 0.95,
      tokens: { bots: 1 },
      description:
        "one BOT token issued by the gate's bot store, on every request (the registry is asked each time)",
    },
    {
      name: 'bot-sqlite',
      mode: 'gate',
      minRatio: 0.95,
      store: 'sqlite',
      tokens: { bots: 1 },
      description:
        "the bot row on a SQLite store: each check first reads data_version (other processes' revocations apply at once)",
    },
    {
      name: 'personal',
      mode: 'gate',
      minRatio: 0.95,
      store: 'sqlite',
      tokens: { personal: 1 },
      description:
        "one personal access token issued by the gate (gate.personalTokens.generate), SQLite store, on every request: data_version read + the registry's live-token lookup each time",
    },
    {
      name: 'dpop',
      mode: 'gate',
      minRatio: null,
      minFloorRatio: 0.8,
      floor: 'dpop-floor',
      dpop: true,
      tokens: { bots: 1 },
      description:
        'one DPoP-bound BOT token (cnf.jkt; verified-token cache hit) with a fresh ES256 proof on every request; memory: store (replay claim in its map)',
    },
    {
      name: 'dpop-sqlite',
      mode: 'gate',
      minRatio: null,
      minFloorRatio: 0.8,
      floor: 'dpop-floor',
      dpop: true,
      store: 'sqlite',
      tokens: { bots: 1 },
      description:
        'the dpop row on a SQLite store: data_version read + the replay claim, one INSERT into dpop_proofs per request',
    },
    {
      name: 'bot-distinct',
      mode: 'gate',
      minRatio: 0.75,
      floor: 'rsa-floor-async',
      tokens: { bots: options.distinctTokens },
      description: `${n} bots' current BOT tokens in rotation (memory: store); ${miss}`,
    },
    ...(Object.keys(PEERS) as PeerName[]).flatMap((peer): Scenario[] => [
      {
        name: `peer-${peer}`,
        mode: 'peer',
        peer,
        minRatio: null,
        tokens: tokens.sso.slice(0, 1),
        description: `${PEERS[peer]}: one SSO token on every request (compare sso)`,
      },
      {
        name: `peer-${peer}-distinct`,
        mode: 'peer',
        peer,
        minRatio: null,
        tokens: tokens.sso,
        description: `${PEERS[peer]}: ${n} distinct SSO tokens in rotation (compare sso-distinct)`,
      },
    ]),
  ];
}

/**
 * The scenarios named in `--only` (`peers`: every peer scenario), or when `null` all of jwt-gate's
 * and the references, plus the peers' when `peers`. Throws on an unknown name.
 */
export function selectScenarios(
  all: readonly Scenario[],
  only: readonly string[] | null,
  peers = false,
): Scenario[] {
  if (only === null) return all.filter((s) => peers || s.mode !== 'peer');
  const groups = [FLOOD, PERSONAL_SCALE, DPOP_REPLAY, PEER_GROUP];
  const unknown = only.filter((name) => !groups.includes(name) && !all.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; choose from ${[...all.map((s) => s.name), ...groups].join(', ')}`,
    );
  }
  return all.filter((s) => only.includes(s.name) || (s.mode === 'peer' && only.includes(PEER_GROUP)));
}
