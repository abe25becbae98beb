/**
 * How both clients send a DPoP-bound token (RFC 9449): `Authorization: DPoP <token>` with a fresh
 * proof per request, and the server's latest `DPoP-Nonce` (§8) remembered for later proofs.
 */
import { resolve } from 'node:path';

import { ConfigError } from '../errors.js';
import { createDpopProof, type DpopKey, loadOrCreateDpopKey } from './dpop-key.js';
import { expandHome } from './token-reference.js';

/** The headers of one DPoP request, and the nonce its proof carries. */
export interface DpopRequestHeaders {
  headers: { Authorization: string; DPoP: string };
  nonce: string | undefined;
}

/** A client's DPoP key and what the server last said about nonces. Shared by all its requests. */
export class DpopBinding {
  readonly key: DpopKey;
  /** The key file, for messages; undefined for a key given as a `DpopKey`. */
  readonly keyFile: string | undefined;
  #nonce: string | undefined;

  constructor(key: DpopKey, keyFile?: string) {
    this.key = key;
    this.keyFile = keyFile;
  }

  /** The nonce the next proof carries: the last `DPoP-Nonce` the server sent, if any. */
  get nonce(): string | undefined {
    return this.#nonce;
  }

  /** A fresh proof (new `jti`, `iat` now) for `method` + `url`, bound to `token` by `ath`. */
  headersFor(method: string, url: string, token: string): DpopRequestHeaders {
    const nonce = this.#nonce;
    const proof = createDpopProof(this.key, {
      method,
      url,
      accessToken: token,
      ...(nonce === undefined ? {} : { nonce }),
    });
    return { headers: { Authorization: `DPoP ${token}`, DPoP: proof }, nonce };
  }

  /** Keeps a `DPoP-Nonce` from any response: a server may rotate it on any answer (§8.2). */
  remember(headers: Headers): void {
    const nonce = headers.get('dpop-nonce')?.trim();
    // RFC 9449 §8.1: a nonce is a non-empty string of NQCHAR (visible ASCII but `"` and `\`).
    if (nonce !== undefined && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) this.#nonce = nonce;
  }

  /** Describes the key for messages: its file (or "the given key") and its thumbprint. */
  describe(): string {
    return `${this.keyFile === undefined ? 'the given DPoP key' : `the DPoP key ${this.keyFile}`} (thumbprint ${this.key.jkt})`;
  }
}

/** A 401 whose challenge asks for a (new) server nonce: `WWW-Authenticate: DPoP error="use_dpop_nonce"` (§9). */
export function isNonceChallenge(status: number, headers: Headers): boolean {
  return status === 401 && /(^|[\s,])error="?use_dpop_nonce"?/.test(headers.get('www-authenticate') ?? '');
}

/**
 * The binding for a `dpopKey` option: a `DpopKey` as is, or a key file path (relative to
 * `baseDir`, `~` the home directory) loaded, or created on first use with mode 0600. An empty
 * path or `undefined` means the token is not bound: Bearer.
 *
 * @param setting where the option was set, for messages (e.g. `…securityConfig.dpopKeyFilePath`).
 * @throws ConfigError naming `setting` for a key file that is readable by others or is not a key.
 */
export function dpopBindingFor(
  option: DpopKey | string | undefined,
  baseDir: string,
  setting: string,
): DpopBinding | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'string') {
    if (typeof option !== 'object' || option === null || typeof option.jkt !== 'string') {
      throw new ConfigError(`${setting} must be a DpopKey (from loadOrCreateDpopKey) or a key file path.`);
    }
    return new DpopBinding(option);
  }
  if (option.trim() === '') return undefined;
  const keyFile = resolve(baseDir, expandHome(option.trim()));
  try {
    return new DpopBinding(loadOrCreateDpopKey(keyFile), keyFile);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${setting}: ${error.message}`, {
        code: error.code as 'ERR_KEY_INVALID',
        cause: error,
      });
    }
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`${setting}: cannot read or create the DPoP key file ${keyFile}: ${reason}.`, {
      code: 'ERR_KEY_INVALID',
      cause: error,
    });
  }
}
