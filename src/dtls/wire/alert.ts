/**
 * Alert protocol, RFC 5246 §7.2:
 *
 *   enum { warning(1), fatal(2), (255) } AlertLevel;
 *   struct {
 *     AlertLevel level;
 *     AlertDescription description;
 *   } Alert;
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { DecodeError } from '../../util/errors.js';
import { AlertLevel } from './constants.js';

/** An alert message. `description` may be any octet (unknown ones are kept as numbers). */
export interface Alert {
  readonly level: AlertLevel;
  readonly description: number;
}

/** Decodes an alert: exactly two octets, level warning(1) or fatal(2). */
export function decodeAlert(bytes: Uint8Array): Readonly<Alert> {
  const r = new ByteReader(bytes, 'alert');
  const levelAt = r.offset;
  const level = r.u8('level');
  if (level !== AlertLevel.warning && level !== AlertLevel.fatal) {
    throw new DecodeError('alert.level', levelAt, `unknown alert level ${level}`);
  }
  const description = r.u8('description');
  r.end();
  return { level, description };
}

/** Encodes an alert (RangeError if the description is not an octet). */
export function encodeAlert(alert: Alert): Uint8Array {
  return new ByteWriter(2).u8(alert.level).u8(alert.description).finish();
}
