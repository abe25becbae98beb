import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

import { ConfigError } from '../errors.js';

/** The reference's "token or path" value, resolved. */
export interface ResolvedTokenReference {
  token: string;
  /** Absolute path of the file the token was read from; absent for an inline token. */
  tokenFile?: string;
}

/** A token file larger than this is surely not a token (and is not read into memory). 64 KiB. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * True when `value` is a compact JWS (RFC 7515 §7.1): three non-empty base64url parts whose first
 * decodes to a JSON object. Decoding the header is what tells a token from a file name with two
 * dots, such as `ingestion-bot.token.txt`.
 */
export function looksLikeCompactJws(value: string): boolean {
  const parts = value.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL_SEGMENT.test(part))) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8'));
    return header !== null && typeof header === 'object' && !Array.isArray(header);
  } catch {
    return false;
  }
}

/**
 * Resolves the reference's `jwtToken` value, which is either the token itself or the path of a
 * file holding it. A compact JWS is the token; anything else is a path, relative to `baseDir`,
 * with a leading `~` meaning the home directory.
 *
 * @param setting where the value was configured (e.g. `workflowConfig…jwtToken`), for messages.
 * @throws ConfigError when the value is empty, the file is missing or does not hold a JWT. The
 *   message names `setting` and the file, never the token.
 */
export function resolveTokenReference(
  value: string,
  baseDir: string,
  setting: string,
): ResolvedTokenReference {
  const trimmed = value.trim();
  if (trimmed === '') {
    throw new ConfigError(`${setting} is empty: ${HOW_TO_SET}`);
  }
  if (looksLikeCompactJws(trimmed)) return { token: trimmed };
  if (looksLikeDamagedToken(trimmed)) {
    throw new ConfigError(
      `${setting} is neither a complete JWT nor a file path (value not shown: it looks like a token ` +
        'that was cut or altered; a JWT is three base64url parts separated by dots). ' +
        'Copy the whole token again from Settings → Bots.',
    );
  }
  const tokenFile = resolve(baseDir, expandHome(trimmed));
  return { token: readTokenFile(tokenFile, setting), tokenFile };
}

/**
 * Reads a token file: the trimmed content must be one compact JWT.
 * @throws ConfigError naming the file and `setting` (never the content).
 */
export function readTokenFile(tokenFile: string, setting: string): string {
  let content: string;
  try {
    content = readSmallFile(tokenFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(
        `${setting}: the token file ${tokenFile} does not exist (a value that is not a JWT is read as ` +
          `the path of a file holding one): put the token itself in ${setting}, or save the token from ` +
          'Settings → Bots in that file.',
        { cause: error },
      );
    }
    const reason = error instanceof TokenFileProblem ? error.message : (code ?? (error as Error).message);
    throw new ConfigError(`${setting}: cannot read the token file ${tokenFile}: ${reason}.`, {
      cause: error,
    });
  }
  const token = content.trim();
  if (token === '') throw new ConfigError(`${setting}: the token file ${tokenFile} is empty: ${HOW_TO_SET}`);
  if (!looksLikeCompactJws(token)) {
    throw new ConfigError(
      `${setting}: the token file ${tokenFile} does not hold a JWT (expected one line of three base64url ` +
        'parts separated by dots, as copied from Settings → Bots).',
    );
  }
  return token;
}

const HOW_TO_SET =
  'generate a token for the bot in Settings → Bots and put the token, or the path of a file holding it, there.';

class TokenFileProblem extends Error {}

function readSmallFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TokenFileProblem('it is not a regular file');
    if (stat.size > MAX_TOKEN_FILE_BYTES) {
      throw new TokenFileProblem(
        `it holds ${stat.size} bytes, too many for a token (at most ${MAX_TOKEN_FILE_BYTES})`,
      );
    }
    const buffer = Buffer.alloc(stat.size);
    const length = stat.size === 0 ? 0 : readSync(fd, buffer, 0, stat.size, 0);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** `~` and `~/x` → the home directory (and `x` in it); other paths unchanged. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/') || path.startsWith('~\\')) return resolve(homedir(), path.slice(2));
  return path;
}

/** Long, path-free, dotted base64url text: a token with a missing or broken part. Never echoed. */
function looksLikeDamagedToken(value: string): boolean {
  return (
    value.length >= 64 && !isAbsolute(value) && /^[A-Za-z0-9_.-]+$/.test(value) && value.startsWith('eyJ')
  );
}
