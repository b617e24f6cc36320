/**
 * The generic key derivation function of 3GPP TS 33.220 Annex B.2:
 *
 *   derived key = HMAC-SHA-256(Key, S),   S = FC ‖ P0 ‖ L0 ‖ P1 ‖ L1 ‖ … ‖ Pn ‖ Ln
 *
 * FC is one octet, or two octets 0xFF ‖ FC2 (B.2.2: 0xFF is the escape to a two-octet FC);
 * Li is the length of Pi in octets as a 2-octet big-endian number (B.2.1.1);
 * character strings are encoded as UTF-8 after NFKC normalisation (B.2.1.2).
 */
import { hmacSha256 } from '../crypto/primitives.js';
import { ByteWriter, ConfigError, exposeSecret, utf8 } from '../util/index.js';
import type { SecretBytes } from '../util/index.js';

/** TS 33.220 B.2.2: the first octet of a two-octet FC (and never a one-octet FC by itself). */
export const FC_EXTENSION_OCTET = 0xff;

/** TS 33.220 B.2.1.1: Li is two octets, so a parameter is at most 65535 octets. */
export const KDF_MAX_PARAM_LENGTH = 0xffff;

/** Length of every KDF output (HMAC-SHA-256, TS 33.220 B.2.0). */
export const KDF_OUTPUT_LENGTH = 32;

/** TS 33.102 §6.3.2 / TS 35.206 §4.1: CK and IK are 128 bits each. */
export const CK_LENGTH = 16;
export const IK_LENGTH = 16;
/** TS 33.102 §6.3.2 / TS 35.206 §4.1: RAND is 128 bits. */
export const RAND_LENGTH = 16;

/**
 * An FC value: a number 0x00..0xFE (one octet), a number 0xFF00..0xFFFF (two octets 0xFF ‖ FC2),
 * or the octets themselves (length 1, or length 2 starting with 0xFF).
 */
export type FcInput = number | Uint8Array;

/** Key material accepted by the derivation functions. */
export type KeyInput = Uint8Array | SecretBytes;

/**
 * The octets of an FC value (TS 33.220 B.2.2). Rejects 0xFF on its own (reserved as the escape octet)
 * and a two-octet FC whose first octet is not 0xFF, with a ConfigError naming `name`.
 */
export function fcOctets(fc: FcInput, name = 'fc'): Uint8Array {
  if (fc instanceof Uint8Array) {
    if (fc.length === 1 && fc[0] !== FC_EXTENSION_OCTET) return fc.slice();
    if (fc.length === 2 && fc[0] === FC_EXTENSION_OCTET) return fc.slice();
    throw new ConfigError(name, 'FC must be one octet other than 0xFF, or two octets 0xFF ‖ FC2 (TS 33.220 B.2.2)');
  }
  if (typeof fc !== 'number' || !Number.isInteger(fc) || fc < 0 || fc > 0xffff) {
    throw new ConfigError(name, 'FC must be an integer 0x00..0xFE or 0xFF00..0xFFFF');
  }
  if (fc < FC_EXTENSION_OCTET) return Uint8Array.of(fc);
  if (fc >> 8 === FC_EXTENSION_OCTET) return Uint8Array.of(FC_EXTENSION_OCTET, fc & 0xff);
  throw new ConfigError(name, `FC 0x${fc.toString(16)} is neither one octet below 0xFF nor 0xFF ‖ FC2 (TS 33.220 B.2.2)`);
}

/** Canonical number form of an FC (two-octet FCs as 0xFFxx); validates like `fcOctets`. */
export function fcNumber(fc: FcInput, name = 'fc'): number {
  const o = fcOctets(fc, name);
  return o.length === 1 ? (o[0] as number) : 0xff00 | (o[1] as number);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone surrogate, i.e. it has an exact UTF-8 encoding (RFC 3629). */
export function isWellFormedUnicode(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** TS 33.220 B.2.1.2: a character string parameter is NFKC-normalised, then UTF-8 encoded. */
export function kdfString(s: string, name = 'string'): Uint8Array {
  if (typeof s !== 'string') throw new ConfigError(name, 'expected a string');
  if (!isWellFormedUnicode(s)) throw new ConfigError(name, 'not well-formed Unicode (lone surrogate)');
  return utf8(s.normalize('NFKC'));
}

/** The input string S = FC ‖ P0 ‖ L0 ‖ … ‖ Pn ‖ Ln of TS 33.220 B.2.1.1 (a fresh array). */
export function kdfInput(fc: FcInput, ...params: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(64);
  w.bytes(fcOctets(fc));
  params.forEach((p, i) => {
    if (!(p instanceof Uint8Array)) throw new ConfigError(`P${i}`, 'KDF parameters must be Uint8Array');
    if (p.length > KDF_MAX_PARAM_LENGTH) {
      throw new ConfigError(`P${i}`, `${p.length} octets exceed the 2-octet length field (max ${KDF_MAX_PARAM_LENGTH})`);
    }
    w.bytes(p).u16(p.length);
  });
  return w.finish();
}

/**
 * KDF(Key, FC, P0, P1, …) = HMAC-SHA-256(Key, S) (TS 33.220 B.2). Pure; returns 32 octets.
 * The key may be of any length (HMAC, RFC 2104); the profile functions check their own key lengths.
 */
export function kdf(key: KeyInput, fc: FcInput, ...params: readonly Uint8Array[]): Uint8Array {
  const k = exposeSecret(key);
  if (!(k instanceof Uint8Array)) throw new ConfigError('key', 'expected Uint8Array or SecretBytes');
  return hmacSha256(k, kdfInput(fc, ...params));
}

/** Checks that `b` is a Uint8Array (optionally of exactly `length` octets); returns the raw bytes. */
export function checkBytes(b: KeyInput, name: string, length?: number): Uint8Array {
  const raw: unknown = b instanceof Uint8Array ? b : exposeSecret(b);
  if (!(raw instanceof Uint8Array)) throw new ConfigError(name, 'expected Uint8Array');
  if (length !== undefined && raw.length !== length) {
    throw new ConfigError(name, `expected ${length} octets, got ${raw.length}`);
  }
  return raw;
}
