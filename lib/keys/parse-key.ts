/**
 * Turns key material into a checked RSA `KeyObject`. The format is detected from the content, never
 * from a file extension: PEM (any label we accept), DER (first byte is an ASN.1 SEQUENCE), and for
 * inline values also base64 of either.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { MIN_RSA_BITS } from '../config/algorithms.js';
import { GENERATE_KEYS_HINT, keyError } from './key-error.js';
import { fieldName } from './read-key-material.js';
import type { KeyMaterial } from './read-key-material.js';

type Encoded = { kind: 'pem'; text: string; label: string } | { kind: 'der'; der: Buffer };

const PRIVATE_FORMATS =
  'a PKCS#8 DER private key (`openssl pkcs8 -topk8 -outform DER -nocrypt`) or a PEM private key ' +
  '(`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`)';
const PUBLIC_FORMATS =
  'an SPKI DER public key (`openssl rsa -pubout -outform DER`) or a PEM public key ' +
  '(`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`)';

/** Parses a private key; refuses encrypted, public, non-RSA, short and unreadable keys. */
export function parsePrivateKey(material: KeyMaterial): KeyObject {
  const where = describeSource(material);
  const encoded = decode(material);
  if (encoded === undefined) throw garbage(material, PRIVATE_FORMATS);
  let key: KeyObject | undefined;
  if (encoded.kind === 'pem') {
    if (encoded.label === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,ENCRYPTED/m.test(encoded.text)) {
      throw encrypted(material.field, where);
    }
    if (!encoded.label.endsWith('PRIVATE KEY')) {
      throw keyError(
        material.field,
        `${where} holds a PEM "${encoded.label}", not a private key: use ${PRIVATE_FORMATS}.`,
      );
    }
    key = tryParse(() => createPrivateKey({ key: encoded.text, format: 'pem' }));
  } else {
    key = tryParse(
      () => createPrivateKey({ key: encoded.der, format: 'der', type: 'pkcs8' }),
      material,
      where,
    );
    key ??= tryParse(() => createPrivateKey({ key: encoded.der, format: 'der', type: 'pkcs1' }));
    if (
      key === undefined &&
      tryParse(() => createPublicKey({ key: encoded.der, format: 'der', type: 'spki' })) !== undefined
    ) {
      throw keyError(
        material.field,
        `${where} holds a public key, not a private key: use private_key.der here and public_key.der for the public key.`,
      );
    }
  }
  if (key === undefined) throw garbage(material, PRIVATE_FORMATS);
  assertStrongRsa(key, material.field, where, GENERATE_KEYS_HINT);
  return key;
}

/**
 * Parses a public key; refuses private keys (a public-key field is often shared), non-RSA, short
 * and unreadable keys. `shortKeyFix` says what to do about a key under MIN_RSA_BITS.
 */
export function parsePublicKey(material: KeyMaterial, shortKeyFix: string = GENERATE_KEYS_HINT): KeyObject {
  const where = describeSource(material);
  const encoded = decode(material);
  if (encoded === undefined) throw garbage(material, PUBLIC_FORMATS);
  let key: KeyObject | undefined;
  if (encoded.kind === 'pem') {
    if (encoded.label.endsWith('PRIVATE KEY')) throw holdsPrivate(material.field, where);
    if (encoded.label !== 'PUBLIC KEY' && encoded.label !== 'RSA PUBLIC KEY') {
      throw keyError(
        material.field,
        `${where} holds a PEM "${encoded.label}", not a public key: use ${PUBLIC_FORMATS}.`,
      );
    }
    key = tryParse(() => createPublicKey({ key: encoded.text, format: 'pem' }));
  } else {
    // Checked first: OpenSSL's lenient DER decoders would derive a public key from a private one.
    if (tryParse(() => createPrivateKey({ key: encoded.der, format: 'der', type: 'pkcs8' })) !== undefined) {
      throw holdsPrivate(material.field, where);
    }
    key = tryParse(() => createPublicKey({ key: encoded.der, format: 'der', type: 'spki' }));
    key ??= tryParse(() => createPublicKey({ key: encoded.der, format: 'der', type: 'pkcs1' }));
  }
  if (key === undefined) throw garbage(material, PUBLIC_FORMATS);
  assertStrongRsa(key, material.field, where, shortKeyFix);
  return key;
}

/** Whether two RSA keys share modulus and exponent (compared as JWK members). */
export function sameRsaPublicKey(a: KeyObject, b: KeyObject): boolean {
  const ja = a.export({ format: 'jwk' });
  const jb = b.export({ format: 'jwk' });
  return ja.n === jb.n && ja.e === jb.e;
}

/** `file /abs/path` or `the inline value`, for messages. */
export function describeSource(material: KeyMaterial): string {
  return material.kind === 'file' ? `file ${material.path}` : 'the inline value';
}

function assertStrongRsa(key: KeyObject, field: string, where: string, shortKeyFix: string): void {
  if (key.asymmetricKeyType !== 'rsa') {
    throw keyError(
      field,
      `${where} holds a ${key.asymmetricKeyType ?? 'non-RSA'} key, not an RSA key: jwt-gate signs with RS256/RS384/RS512; ${GENERATE_KEYS_HINT}.`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw keyError(
      field,
      `${where} holds a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required: ${shortKeyFix}.`,
    );
  }
}

function decode(material: KeyMaterial): Encoded | undefined {
  if (material.kind === 'file') return decodeBytes(material.bytes);
  const text = material.text.trim();
  if (text.includes('-----BEGIN ')) return pem(unescapeNewlines(text));
  // Base64 (standard or URL-safe alphabet) of DER or of a whole PEM file, line breaks allowed.
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined;
  return decodeBytes(
    Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64'),
  );
}

function decodeBytes(bytes: Buffer): Encoded | undefined {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN ')) return pem(text);
  return bytes[0] === 0x30 ? { kind: 'der', der: bytes } : undefined;
}

function pem(text: string): Encoded | undefined {
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  return label === undefined ? undefined : { kind: 'pem', text, label };
}

/** Env files and CI secrets often carry PEM on one line with literal `\n`. */
function unescapeNewlines(text: string): string {
  return text.includes('\n') ? text : text.replace(/\\n/g, '\n');
}

/**
 * Runs a parser, mapping failure to `undefined`. With `material`, an encrypted PKCS#8 DER key
 * (Node reports ERR_MISSING_PASSPHRASE) is refused right away instead.
 */
function tryParse(parse: () => KeyObject, material?: KeyMaterial, where?: string): KeyObject | undefined {
  try {
    return parse();
  } catch (err) {
    if (
      material !== undefined &&
      err instanceof Error &&
      'code' in err &&
      err.code === 'ERR_MISSING_PASSPHRASE'
    ) {
      throw encrypted(material.field, where ?? describeSource(material));
    }
    return undefined;
  }
}

function encrypted(field: string, where: string): Error {
  return keyError(
    field,
    `${where} holds an encrypted private key, which jwt-gate cannot unlock: write it unencrypted with ` +
      '`openssl pkcs8 -topk8 -inform PEM -outform DER -in private_key.pem -out private_key.der -nocrypt` ' +
      '(note `-nocrypt`) and protect the file with `chmod 600` instead.',
  );
}

function holdsPrivate(field: string, where: string): Error {
  return keyError(
    field,
    `${where} holds a private key, but this field takes the public key: use public_key.der ` +
      '(`openssl rsa -in private_key.pem -pubout -outform DER -out public_key.der`) and keep the private key out of it.',
  );
}

function garbage(material: KeyMaterial, formats: string): Error {
  const where = describeSource(material);
  if (material.kind === 'file') {
    return keyError(material.field, `${where} is not a key jwt-gate can read: use ${formats}.`);
  }
  return keyError(
    material.field,
    `${where} is not a key jwt-gate can read: give PEM text or base64 of ${formats} ` +
      `(a file path goes in ${fieldName(material.fileField)} instead).`,
  );
}
