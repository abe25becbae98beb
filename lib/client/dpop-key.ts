/**
 * The client side of DPoP (RFC 9449) for the ingestion and pipeline-service clients: a P-256 key
 * kept in a private JWK file, and the proof (`DPoP` header) for each request.
 */
import {
  type JsonWebKey,
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
} from 'node:crypto';
import { closeSync, fstatSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { jwkThumbprint } from '../keys/jwk-thumbprint.js';

/** The public half of a client's DPoP key, as sent in every proof's `jwk` header. */
export interface DpopPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** A client's DPoP key. */
export interface DpopKey {
  privateKey: KeyObject;
  publicJwk: DpopPublicJwk;
  /** RFC 7638 thumbprint of `publicJwk`: the `cnf.jkt` of tokens bound to this key. */
  jkt: string;
}

export interface DpopProofRequest {
  /** HTTP method, as sent (`GET`, `POST`…). */
  method: string;
  /** The request URL; query and fragment are left out of `htu`. */
  url: string;
  /** The access token sent with the proof; adds `ath` (RFC 9449 §4.2). */
  accessToken?: string;
  /** The server's last `DPoP-Nonce`, when it asked for one (RFC 9449 §8). */
  nonce?: string;
  /** The clock, epoch milliseconds. Default `Date.now()`. */
  now?: number;
}

/**
 * The DPoP key stored at `path`, created on first use: an ES256 (P-256) private JWK written with
 * mode 0600. The file is written under a temporary name and linked into place, so a concurrent
 * first start never reads a half-written file and only one key wins.
 *
 * @throws {ConfigError} (`ERR_KEY_INVALID`) when the file is readable by group or others (fix:
 *   `chmod 600 <path>`), is not a regular file, or holds no P-256 private JWK.
 * @example
 * const key = loadOrCreateDpopKey('/var/lib/ingestion/dpop-key.json');
 */
export function loadOrCreateDpopKey(path: string): DpopKey {
  const existing = readKeyFile(path);
  if (existing !== undefined) return dpopKeyFromJwk(parseKeyFile(path, existing));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256' };
  const temporary = `${path}.${randomUUID()}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(jwk, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another process created the key first: use that one.
    return loadOrCreateDpopKey(path);
  } finally {
    unlinkSync(temporary);
  }
  return dpopKeyFromJwk(jwk);
}

/**
 * A DPoP key from a P-256 private JWK (`kty` EC, `crv` P-256, `x`, `y`, `d`).
 *
 * @throws {ConfigError} (`ERR_KEY_INVALID`) for anything else.
 */
export function dpopKeyFromJwk(jwk: unknown): DpopKey {
  const raw = (typeof jwk === 'object' && jwk !== null ? jwk : {}) as Record<string, unknown>;
  if (raw.kty !== 'EC' || raw.crv !== 'P-256' || typeof raw.d !== 'string') {
    throw new ConfigError('The DPoP key must be a P-256 private JWK (kty "EC", crv "P-256", with "d").', {
      code: 'ERR_KEY_INVALID',
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: raw as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new ConfigError('The DPoP key is not a valid P-256 private JWK.', {
      code: 'ERR_KEY_INVALID',
      cause,
    });
  }
  const { x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicJwk: DpopPublicJwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! };
  return { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) };
}

/**
 * A DPoP proof for one request: a compact JWS with header `{typ: "dpop+jwt", alg: "ES256", jwk}`
 * and claims `jti`, `htm`, `htu`, `iat`, and `ath`/`nonce` when given. Send it as the `DPoP`
 * header, with `Authorization: DPoP <token>`. A proof is good for one request only.
 *
 * @example
 * headers.DPoP = createDpopProof(key, { method: 'POST', url, accessToken: token });
 */
export function createDpopProof(key: DpopKey, request: DpopProofRequest): string {
  const url = new URL(request.url);
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    htm: request.method,
    htu: `${url.protocol}//${url.host}${url.pathname}`,
    iat: Math.floor((request.now ?? Date.now()) / 1000),
  };
  if (request.accessToken !== undefined) {
    claims.ath = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
  }
  if (request.nonce !== undefined) claims.nonce = request.nonce;
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk };
  const signingInput = `${base64url(header)}.${base64url(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The key file's text, or undefined when there is none. Checked on the open descriptor (no race). */
function readKeyFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new ConfigError(`The DPoP key file ${path} is not a regular file.`, { code: 'ERR_KEY_INVALID' });
    }
    // POSIX permissions only: on Windows the mode bits say nothing about who may read the file.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new ConfigError(
        `The DPoP key file ${path} is readable or writable by group or others (mode ` +
          `${(stat.mode & 0o777).toString(8)}); it holds a private key: run \`chmod 600 ${path}\`.`,
        { code: 'ERR_KEY_INVALID' },
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function parseKeyFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`The DPoP key file ${path} is not JSON (a P-256 private JWK).`, {
      code: 'ERR_KEY_INVALID',
      cause,
    });
  }
}
