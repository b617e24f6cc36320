/**
 * Flag parsers: each turns a flag's string into a typed value or throws a ConfigError that names
 * the flag, so that the CLI prints one line and exits 2 (DESIGN.md §9).
 */
import { fromHex } from '../util/bytes.js';
import { ConfigError } from '../util/errors.js';

/** A hex flag of an exact octet length (or any length when `length` is undefined). */
export function hexFlag(flag: string, value: string | undefined, length?: number): Uint8Array {
  if (value === undefined) throw new ConfigError(flag, 'is required');
  return fromHex(value, flag, length);
}

/** One of a fixed set of words. */
export function choiceFlag<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(flag, `must be one of ${choices.join(', ')} (got '${value}')`);
  }
  return value as T;
}

/** A non-empty UTF-8 string flag. */
export function textFlag(flag: string, value: string | undefined, maxOctets = 1024): string {
  if (value === undefined || value.length === 0) throw new ConfigError(flag, 'must not be empty');
  if (Buffer.byteLength(value, 'utf8') > maxOctets) throw new ConfigError(flag, `longer than ${maxOctets} octets`);
  return value;
}

/** A HOST:PORT pair; IPv6 hosts in brackets ([::1]:5684). */
export function hostPortFlag(flag: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(flag, `expected HOST:PORT, got '${value}'`);
  }
  return { host, port };
}

/** A positive integer within bounds. */
export function intFlag(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(flag, `expected an integer, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(flag, `must be between ${min} and ${max}`);
  return n;
}
