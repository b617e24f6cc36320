/**
 * Where the key-encryption key comes from (DESIGN.md §8): a key file, else the E2M_KEK environment
 * variable, else the PKI folder's kek.key. The KEK is 32 octets written as 64 hex digits.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pkiPaths } from '../crypto/pki.js';
import { ConfigError } from '../util/errors.js';
import { SecretBytes } from '../util/secret.js';

/** Where a KEK was found (for the start-up log; never its value). */
export type KekSource = 'file' | 'env' | 'pki';

export interface KekSources {
  /** `--kek-file`. */
  readonly kekFile?: string | undefined;
  /** The environment (E2M_KEK). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--pki`: its kek.key is the last resort. */
  readonly pkiDir?: string | undefined;
}

const KEK_HEX = /^[0-9a-fA-F]{64}$/;

function parseKek(text: string, option: string, what: string): SecretBytes {
  const hex = text.trim();
  if (!KEK_HEX.test(hex)) throw new ConfigError(option, `${what} must hold exactly 64 hex digits (a 32-octet key)`);
  return new SecretBytes(new Uint8Array(Buffer.from(hex, 'hex')));
}

function readKekFile(file: string, option: string): SecretBytes {
  if (!existsSync(file)) throw new ConfigError(option, `${file} does not exist`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(option, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseKek(text, option, file);
}

/** Loads the KEK from the first source given; errors name that source (`--kek-file`, `E2M_KEK`, `--pki`). */
export function loadKek(s: KekSources): { kek: SecretBytes; source: KekSource } {
  if (s.kekFile !== undefined) return { kek: readKekFile(s.kekFile, '--kek-file'), source: 'file' };
  const env = s.env['E2M_KEK'];
  if (env !== undefined) return { kek: parseKek(env, 'E2M_KEK', 'the environment variable'), source: 'env' };
  if (s.pkiDir !== undefined) return { kek: readKekFile(pkiPaths(s.pkiDir).kek, '--pki'), source: 'pki' };
  throw new ConfigError('--kek-file', 'no key-encryption key: give --kek-file, set E2M_KEK, or use a --pki folder with kek.key');
}
