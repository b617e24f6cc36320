/**
 * Argument checks at the boundary of src/aka (STYLE.md, noble style): every byte string is checked
 * for type and length before use, and a bad one raises a ConfigError naming the argument.
 */
import { ConfigError, SecretBytes, exposeSecret } from '../util/index.js';

/** Key material accepted by the AKA functions: raw bytes or a SecretBytes wrapper. */
export type KeyInput = Uint8Array | SecretBytes;

/** Octet lengths of the AKA parameters (TS 33.102 §6.3.7, TS 35.206 §2). */
export const AKA_LENGTHS = {
  k: 16,
  op: 16,
  opc: 16,
  rand: 16,
  sqn: 6,
  amf: 2,
  ak: 6,
  mac: 8,
  res: 8,
  ck: 16,
  ik: 16,
  autn: 16,
  auts: 14,
} as const;

/** Returns `value` if it is a Uint8Array of exactly `length` octets, else throws ConfigError(`name`). */
export function checkBytes(value: unknown, length: number, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ConfigError(name, `expected a Uint8Array of ${length} octets, got ${describe(value)}`);
  }
  if (value.length !== length) {
    throw new ConfigError(name, `expected ${length} octets, got ${value.length}`);
  }
  return value;
}

/** Like checkBytes, for key material that may arrive wrapped in SecretBytes. */
export function checkKey(value: unknown, length: number, name: string): Uint8Array {
  return checkBytes(value instanceof SecretBytes ? exposeSecret(value) : value, length, name);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
