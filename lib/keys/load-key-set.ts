/**
 * Loads the server's key set from `jwtTokenConfiguration`: the signing key pair and the extra
 * public keys kept for rotation. Everything is parsed and checked here, at start-up; any problem
 * throws a `ConfigError` (`ERR_KEY_INVALID`) naming the field and the fix, and nothing is returned
 * half-loaded.
 */
import { createPublicKey } from 'node:crypto';
import type { ConfigProvenance, JwtTokenConfiguration } from '../config/types.js';
import { GENERATE_KEYS_HINT, keyError } from './key-error.js';
import type { KeySet, PublishedKey, SigningKey } from './key-set.js';
import { describeSource, parsePrivateKey, parsePublicKey, sameRsaPublicKey } from './parse-key.js';
import { readKeyMaterial } from './read-key-material.js';
import type { ReadKeyOptions } from './read-key-material.js';

export interface LoadKeySetOptions {
  /** Directory relative key paths resolve against (the YAML's directory, or the cwd). */
  baseDir: string;
  /** Names the environment variable behind a field in error messages. Default: the bare field path. */
  provenance?: ConfigProvenance;
  /**
   * Refuse a private key file that group or others can access (`mode & 0o077`), as `ssh` does.
   * Never checked on Windows. Default `true`.
   */
  checkFileMode?: boolean;
}

const SECTION = 'jwtTokenConfiguration';

/**
 * Loads and checks the signing key and every additional public key.
 *
 * Private key: PKCS#8 DER, PEM PKCS#8 or PEM PKCS#1, from `rsaprivateKey` (inline: PEM, or base64
 * of DER/PEM) or else `rsaprivateKeyFilePath`. Public key: SPKI DER, PEM SPKI or PEM PKCS#1, from
 * `rsapublicKey` or else `rsapublicKeyFilePath`; optional — derived from the private key when
 * absent, and must match it when present. Keys must be RSA of at least 2048 bits.
 *
 * @example
 * const keys = loadKeySet(config.jwtTokenConfiguration, { baseDir: config.baseDir, provenance: config.provenance });
 * keys.signing.privateKey; // KeyObject
 */
export function loadKeySet(config: JwtTokenConfiguration, options: LoadKeySetOptions): KeySet {
  const describe = (path: string): string => options.provenance?.describe(path) ?? path;
  const read: ReadKeyOptions = { baseDir: options.baseDir, checkFileMode: options.checkFileMode ?? true };

  if (typeof config.keyId !== 'string' || config.keyId === '') {
    throw keyError(
      describe(`${SECTION}.keyId`),
      'is empty: set a stable key id (it becomes the `kid` of every token).',
    );
  }

  const privateMaterial = readKeyMaterial(
    {
      inline: config.rsaprivateKey,
      inlineField: describe(`${SECTION}.rsaprivateKey`),
      file: config.rsaprivateKeyFilePath,
      fileField: describe(`${SECTION}.rsaprivateKeyFilePath`),
      secret: true,
    },
    read,
  );
  if (privateMaterial === undefined) {
    throw keyError(
      describe(`${SECTION}.rsaprivateKeyFilePath`),
      `is not set (nor ${describe(`${SECTION}.rsaprivateKey`)}): jwt-gate needs the private key to sign bot tokens; ` +
        `${GENERATE_KEYS_HINT}, then set rsaprivateKeyFilePath to private_key.der.`,
    );
  }
  const privateKey = parsePrivateKey(privateMaterial);
  const publicKey = createPublicKey(privateKey);

  const publicMaterial = readKeyMaterial(
    {
      inline: config.rsapublicKey,
      inlineField: describe(`${SECTION}.rsapublicKey`),
      file: config.rsapublicKeyFilePath,
      fileField: describe(`${SECTION}.rsapublicKeyFilePath`),
      secret: false,
    },
    read,
  );
  if (publicMaterial !== undefined && !sameRsaPublicKey(parsePublicKey(publicMaterial), publicKey)) {
    throw keyError(
      publicMaterial.field,
      `the public key in ${describeSource(publicMaterial)} does not belong to the private key in ` +
        `${describeSource(privateMaterial)} (${privateMaterial.field}): point both at the same key pair ` +
        '(or leave the public key unset: it is derived from the private key).',
    );
  }

  const signing: SigningKey = Object.freeze({
    kid: config.keyId,
    alg: config.algorithm,
    privateKey,
    publicKey,
  });
  // The published entry is a separate object so the private key never travels with JWKS code.
  const published: PublishedKey[] = [Object.freeze({ kid: signing.kid, alg: signing.alg, publicKey })];
  const byKid = new Map<string, PublishedKey>([[signing.kid, published[0]!]]);

  (config.additionalPublicKeys ?? []).forEach((additional, index) => {
    const at = `${SECTION}.additionalPublicKeys[${index}]`;
    const kid = additional.keyId;
    if (typeof kid !== 'string' || kid === '') {
      throw keyError(
        describe(`${at}.keyId`),
        'is empty: give every additional public key the `kid` its tokens carry.',
      );
    }
    if (byKid.has(kid)) {
      throw keyError(
        describe(`${at}.keyId`),
        `"${kid}" is already used by ${kid === signing.kid ? `${SECTION}.keyId` : 'another additional public key'}: ` +
          'every published key needs its own kid; remove the duplicate entry or give it the kid its tokens carry.',
      );
    }
    const material = readKeyMaterial(
      {
        inline: additional.publicKey,
        inlineField: describe(`${at}.publicKey`),
        file: additional.publicKeyFilePath,
        fileField: describe(`${at}.publicKeyFilePath`),
        secret: false,
      },
      read,
    );
    if (material === undefined) {
      throw keyError(
        describe(`${at}.publicKeyFilePath`),
        `is not set (nor ${describe(`${at}.publicKey`)}): give the old public key of kid "${kid}", or remove the entry.`,
      );
    }
    const retire = `retire this key (remove entry ${index} of additionalPublicKeys) once its tokens have expired, or re-issue them with the current key`;
    const key: PublishedKey = Object.freeze({
      kid,
      alg: additional.algorithm ?? config.algorithm,
      publicKey: parsePublicKey(material, retire),
    });
    published.push(key);
    byKid.set(kid, key);
  });

  return Object.freeze({ signing, published: Object.freeze(published), byKid });
}
