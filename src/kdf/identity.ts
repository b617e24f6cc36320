/**
 * Rules shared by the psk_identity formats of DESIGN.md §4: length limit, strict UTF-8, and the
 * NAI-like character rule for identities (RFC 7542 §2.2: no spaces or control characters).
 */
import { ConfigError, DecodeError, utf8 } from '../util/index.js';
import { isWellFormedUnicode } from './generic.js';

/** RFC 7925 §4.2 (as adopted by DESIGN.md §4): a psk_identity is at most 128 octets. */
export const PSK_IDENTITY_MAX_OCTETS = 128;

/** Control (Cc), format (Cf) and separator (Z*) characters: not allowed in an NAI (RFC 7542 §2.2). */
const NOT_NAI_CHAR = /[\p{Cc}\p{Cf}\p{Z}]/u;

/** Why `s` is not acceptable as identity text, or undefined when it is. */
export function identityTextProblem(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'expected a string';
  if (s.length === 0) return 'empty';
  if (!isWellFormedUnicode(s)) return 'not well-formed Unicode (lone surrogate)';
  if (NOT_NAI_CHAR.test(s)) return 'contains a space, control or format character (RFC 7542 §2.2)';
  return undefined;
}

/** Throws ConfigError(`name`) unless `s` is non-empty identity text. */
export function checkIdentityText(s: unknown, name: string): string {
  const problem = identityTextProblem(s);
  if (problem !== undefined) throw new ConfigError(name, problem);
  return s as string;
}

/** UTF-8 of a complete psk_identity, rejected (ConfigError `name`) beyond 128 octets. */
export function encodePskIdentity(text: string, name: string): Uint8Array {
  const bytes = utf8(text);
  if (bytes.length > PSK_IDENTITY_MAX_OCTETS) {
    throw new ConfigError(name, `psk_identity would be ${bytes.length} octets, over ${PSK_IDENTITY_MAX_OCTETS} (RFC 7925)`);
  }
  return bytes;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a received psk_identity: 1..128 octets of valid UTF-8 (RFC 3629), else DecodeError
 * with `field`.
 */
export function decodePskIdentity(bytes: Uint8Array, field: string): string {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(field, 0, 'expected Uint8Array');
  if (bytes.length === 0 || bytes.length > PSK_IDENTITY_MAX_OCTETS) {
    throw new DecodeError(field, 0, `length ${bytes.length} outside 1..${PSK_IDENTITY_MAX_OCTETS} (RFC 7925)`);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new DecodeError(field, 0, 'not valid UTF-8');
  }
}
