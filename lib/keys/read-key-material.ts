/**
 * Where a key comes from: an inline value (PEM text or base64, typically an environment variable)
 * or a file. Inline wins over the path; an empty string counts as not set.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GENERATE_KEYS_HINT, keyError } from './key-error.js';

/** Raw key material before its format is known. */
export type KeyMaterial =
  | { readonly kind: 'inline'; readonly field: string; readonly text: string; readonly fileField: string }
  | { readonly kind: 'file'; readonly field: string; readonly path: string; readonly bytes: Buffer };

export interface KeySourceFields {
  /** Inline value and the (described) name of its field. */
  inline: string | undefined;
  inlineField: string;
  /** File path as configured and the (described) name of its field. */
  file: string | undefined;
  fileField: string;
  /** A private key: the file must not be accessible by group or others. */
  secret: boolean;
}

export interface ReadKeyOptions {
  /** Directory relative paths resolve against. */
  baseDir: string;
  /** Refuse secret files with any group/other permission bit. Ignored on Windows. */
  checkFileMode: boolean;
}

/** Key files are a few KiB; anything far larger is the wrong file (or /dev/zero). */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Returns the material of the inline value, else of the file, else `undefined` (neither set). */
export function readKeyMaterial(source: KeySourceFields, options: ReadKeyOptions): KeyMaterial | undefined {
  if (source.inline !== undefined && source.inline !== '') {
    return { kind: 'inline', field: source.inlineField, text: source.inline, fileField: source.fileField };
  }
  if (source.file === undefined || source.file === '') return undefined;
  const path = resolve(options.baseDir, source.file);
  return { kind: 'file', field: source.fileField, path, bytes: readKeyFile(path, source, options) };
}

function readKeyFile(path: string, source: KeySourceFields, options: ReadKeyOptions): Buffer {
  const field = source.fileField;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw openError(field, path, err);
  }
  // One descriptor for stat and read, so the mode we check is the mode of the bytes we read.
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) {
      throw keyError(
        field,
        `${path} is a directory, not a key file: point ${fieldName(field)} at the key file itself.`,
      );
    }
    if (!stat.isFile()) {
      throw keyError(field, `${path} is not a regular file: point ${fieldName(field)} at a key file.`);
    }
    if (source.secret && options.checkFileMode && process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw keyError(
        field,
        `private key file ${path} is accessible by group or others (mode ${mode}): ` +
          `run \`chmod 600 ${path}\` so that only the user running the server can read it.`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw keyError(
        field,
        `${path} is ${stat.size} bytes, too large to be a key file: point ${fieldName(field)} at the key file.`,
      );
    }
    return readFileSync(fd);
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ERR_KEY_INVALID') throw err;
    throw keyError(
      field,
      `cannot read ${path} (${errnoText(err)}): make it a key file readable by the user running the server.`,
      err,
    );
  } finally {
    closeSync(fd);
  }
}

function openError(field: string, path: string, err: unknown): Error {
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return keyError(field, `no such file ${path}: fix the path, or ${GENERATE_KEYS_HINT}.`, err);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return keyError(
      field,
      `cannot read ${path}: permission denied; make it readable by the user running the server ` +
        `(\`chown\` it to that user and \`chmod 600\` it).`,
      err,
    );
  }
  return keyError(
    field,
    `cannot read ${path} (${errnoText(err)}): make it a key file readable by the user running the server.`,
    err,
  );
}

/** `jwtTokenConfiguration.rsaprivateKeyFilePath (from X)` → `rsaprivateKeyFilePath`. */
export function fieldName(described: string): string {
  const path = described.split(' ')[0] ?? described;
  return path.slice(path.lastIndexOf('.') + 1);
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function errnoText(err: unknown): string {
  return errnoCode(err) ?? (err instanceof Error ? err.message : String(err));
}
