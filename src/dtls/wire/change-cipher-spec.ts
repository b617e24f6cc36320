/**
 * Change cipher spec protocol, RFC 5246 §7.1:
 *
 *   struct {
 *     enum { change_cipher_spec(1), (255) } type;
 *   } ChangeCipherSpec;
 */
import { DecodeError } from '../../util/errors.js';

/** The only ChangeCipherSpec value (RFC 5246 §7.1). */
export const CHANGE_CIPHER_SPEC = 1;

/** Checks a ChangeCipherSpec body: exactly the single octet 01. Throws DecodeError otherwise. */
export function decodeChangeCipherSpec(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new DecodeError('change_cipher_spec.type', 0);
  if (bytes[0] !== CHANGE_CIPHER_SPEC) {
    throw new DecodeError('change_cipher_spec.type', 0, `value ${bytes[0]} is not change_cipher_spec(1)`);
  }
  if (bytes.length !== 1) throw new DecodeError('change_cipher_spec.end', 1, 'trailing bytes');
}

/** The ChangeCipherSpec body, the single octet 01. */
export function encodeChangeCipherSpec(): Uint8Array {
  return Uint8Array.of(CHANGE_CIPHER_SPEC);
}
