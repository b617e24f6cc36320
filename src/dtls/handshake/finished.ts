/**
 * Finished, RFC 5246 §7.4.9:
 *
 *   struct {
 *     opaque verify_data[verify_data_length];
 *   } Finished;
 *
 * verify_data_length is 12 for every cipher suite this stack offers (RFC 5246 §7.4.9 default; the
 * PSK-CCM suites of RFC 6655 and RFC 8442 do not change it).
 */
import { ByteReader } from '../../util/bytes.js';

/** Length of verify_data (RFC 5246 §7.4.9). */
export const VERIFY_DATA_LENGTH = 12;

/** A Finished message. */
export interface Finished {
  readonly verifyData: Uint8Array;
}

/** Decodes a Finished body: exactly 12 octets. Throws DecodeError otherwise. */
export function decodeFinished(body: Uint8Array): Readonly<Finished> {
  const r = new ByteReader(body, 'finished');
  const verifyData = r.bytes(VERIFY_DATA_LENGTH, 'verify_data');
  r.end();
  return { verifyData };
}

/** Encodes a Finished body. Throws RangeError unless verify_data is 12 octets. */
export function encodeFinished(finished: Finished): Uint8Array {
  if (finished.verifyData.length !== VERIFY_DATA_LENGTH) {
    throw new RangeError(`verify_data must be ${VERIFY_DATA_LENGTH} octets, got ${finished.verifyData.length}`);
  }
  return finished.verifyData.slice();
}
