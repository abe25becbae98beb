/** `jwt-gate keys …`: make the RSA key pair that signs bot tokens. */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { MIN_RSA_BITS } from '../config/algorithms.js';
import { generateKeyFiles, MAX_GENERATED_RSA_BITS } from '../keys/generate-key-files.js';
import type { GeneratedKeyFiles } from '../keys/generate-key-files.js';
import type { CliIo } from './cli-io.js';

interface GenerateOptions {
  out: string;
  bits: number;
  force?: boolean;
}

/** Registers `keys generate`. */
export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('manage the RSA key pair that signs bot tokens');

  keys
    .command('generate')
    .description(
      'write private_key.pem, private_key.der (PKCS#8 DER, mode 0600) and public_key.der (SPKI DER), ' +
        'the files the OpenMetadata openssl commands produce',
    )
    .requiredOption('--out <dir>', 'directory to write the key files to (created with mode 0700)')
    .option(
      '--bits <n>',
      `RSA key size in bits (${MIN_RSA_BITS}-${MAX_GENERATED_RSA_BITS})`,
      parseBits,
      MIN_RSA_BITS,
    )
    .option('--force', 'replace existing key files (invalidates every token signed with the old key)')
    .action(async (options: GenerateOptions) => {
      const files = await generateKeyFiles(options.out, {
        bits: options.bits,
        force: options.force === true,
      });
      io.out(report(files, options.bits));
    });
}

function parseBits(value: string): number {
  const bits = Number(value);
  if (!/^\d+$/.test(value) || bits < MIN_RSA_BITS || bits > MAX_GENERATED_RSA_BITS) {
    throw new InvalidArgumentError(`Use an integer from ${MIN_RSA_BITS} to ${MAX_GENERATED_RSA_BITS}.`);
  }
  return bits;
}

function report(files: GeneratedKeyFiles, bits: number): string {
  return [
    `Wrote a ${bits}-bit RSA key pair:`,
    `  ${files.privateKeyPem}  private key, PEM (mode 0600)`,
    `  ${files.privateKeyDer}  private key, PKCS#8 DER (mode 0600)`,
    `  ${files.publicKeyDer}  public key, SPKI DER`,
    '',
    'Use them in your jwt-gate YAML (or set RSA_PUBLIC_KEY_FILE_PATH / RSA_PRIVATE_KEY_FILE_PATH):',
    'jwtTokenConfiguration:',
    // JSON strings are valid YAML double-quoted scalars, whatever the path contains.
    `  rsapublicKeyFilePath: ${JSON.stringify(files.publicKeyDer)}`,
    `  rsaprivateKeyFilePath: ${JSON.stringify(files.privateKeyDer)}`,
    '',
  ].join('\n');
}
