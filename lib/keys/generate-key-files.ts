/**
 * Writes a new RSA key pair in the three files of the OpenMetadata set-up, byte for byte what its
 * openssl commands write:
 *
 *   openssl genrsa -out private_key.pem 2048
 *   openssl pkcs8 -topk8 -inform PEM -outform DER -in private_key.pem -out private_key.der -nocrypt
 *   openssl rsa -in private_key.pem -pubout -outform DER -out public_key.der
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { MIN_RSA_BITS } from '../config/algorithms.js';
import { ConfigError } from '../errors.js';

const generateRsaKeyPair = promisify(generateKeyPair);

/** Largest RSA modulus `generateKeyFiles()` makes, in bits; the smallest, and the default, is MIN_RSA_BITS. */
export const MAX_GENERATED_RSA_BITS = 16384;

/** File names written by `generateKeyFiles()`. */
export const KEY_FILE_NAMES = {
  privateKeyPem: 'private_key.pem',
  privateKeyDer: 'private_key.der',
  publicKeyDer: 'public_key.der',
} as const;

export interface GenerateKeyFilesOptions {
  /** RSA modulus size, bits, 2048–16384. Default 2048. */
  bits?: number;
  /** Replace existing key files. Default `false`: existing files are never overwritten. */
  force?: boolean;
}

/** Absolute paths of the files written. */
export interface GeneratedKeyFiles {
  /** PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, as OpenSSL 3's `genrsa` writes), mode 0600. */
  privateKeyPem: string;
  /** PKCS#8 DER private key, mode 0600: what `rsaprivateKeyFilePath` points at. */
  privateKeyDer: string;
  /** SubjectPublicKeyInfo DER public key: what `rsapublicKeyFilePath` points at. */
  publicKeyDer: string;
}

/**
 * Generates an RSA key pair (e = 65537) and writes `private_key.pem`, `private_key.der` and
 * `public_key.der` into `dir`, which is created with mode 0700 if missing. Private files are
 * created with mode 0600 (never chmod-ed afterwards, so they are never briefly readable).
 * Without `force`, an existing file makes it throw a `ConfigError` and leave nothing behind,
 * because replacing a key invalidates every token signed with it.
 *
 * @example
 * const files = await generateKeyFiles('./conf'); // files.privateKeyDer === '/abs/conf/private_key.der'
 */
export async function generateKeyFiles(
  dir: string,
  options: GenerateKeyFilesOptions = {},
): Promise<GeneratedKeyFiles> {
  const bits = options.bits ?? MIN_RSA_BITS;
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_GENERATED_RSA_BITS) {
    throw new ConfigError(
      `bits: ${String(bits)} is not a supported RSA key size: use an integer from ${MIN_RSA_BITS} to ${MAX_GENERATED_RSA_BITS} (default ${MIN_RSA_BITS}).`,
    );
  }
  const force = options.force ?? false;
  const root = resolve(dir);
  const files: GeneratedKeyFiles = {
    privateKeyPem: join(root, KEY_FILE_NAMES.privateKeyPem),
    privateKeyDer: join(root, KEY_FILE_NAMES.privateKeyDer),
    publicKeyDer: join(root, KEY_FILE_NAMES.publicKeyDer),
  };

  // Fail before the (slow) key generation; link() below still catches a file that appears meanwhile.
  if (!force) {
    for (const path of [files.privateKeyPem, files.privateKeyDer, files.publicKeyDer]) {
      if (
        await lstat(path).then(
          () => true,
          () => false,
        )
      )
        throw alreadyExists(path);
    }
  }

  const { privateKey, publicKey } = await generateRsaKeyPair('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
  });
  const contents: Array<[path: string, data: string | Buffer, mode: number]> = [
    [files.privateKeyPem, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600],
    [files.privateKeyDer, privateKey.export({ type: 'pkcs8', format: 'der' }), 0o600],
    [files.publicKeyDer, publicKey.export({ type: 'spki', format: 'der' }), 0o644],
  ];

  await mkdir(root, { recursive: true, mode: 0o700 });
  // Write everything to fresh temporary names first ('wx' = O_EXCL: no symlink games), then put
  // the files in place: link() refuses to replace an existing file, rename() replaces atomically.
  const suffix = `.${randomBytes(6).toString('hex')}.tmp`;
  const placed: string[] = [];
  try {
    for (const [path, data, mode] of contents) await writeFile(path + suffix, data, { flag: 'wx', mode });
    for (const [path] of contents) {
      if (force) {
        await rename(path + suffix, path);
      } else {
        await link(path + suffix, path).catch((err: unknown) => {
          throw isExists(err) ? alreadyExists(path, err) : err;
        });
      }
      placed.push(path);
    }
  } catch (err) {
    // All or nothing: remove what this call wrote (never a file that was there before).
    if (!force) await Promise.all(placed.map((path) => rm(path, { force: true })));
    throw err;
  } finally {
    await Promise.all(contents.map(([path]) => rm(path + suffix, { force: true })));
  }
  return files;
}

function alreadyExists(path: string, cause?: unknown): ConfigError {
  return new ConfigError(
    `${path} already exists: replacing a key invalidates every token signed with it. ` +
      'Pass --force (option `force: true`) to replace the key files, or choose another directory.',
    { cause },
  );
}

function isExists(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'EEXIST';
}
