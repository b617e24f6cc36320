import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { toHex } from '../../../src/util/bytes.js';
import { AlertDescription, AlertLevel } from '../../../src/dtls/wire/constants.js';
import { decodeAlert, encodeAlert } from '../../../src/dtls/wire/alert.js';
import { hex } from '../fixtures/helpers.js';

describe('alert (RFC 5246 §7.2)', () => {
  it('encodes fatal unknown_psk_identity as 02 73', () => {
    const bytes = encodeAlert({ level: AlertLevel.fatal, description: AlertDescription.unknown_psk_identity });
    expect(toHex(bytes)).toBe('0273');
  });

  it('decodes warning close_notify, the alert OpenSSL sent encrypted in the fixture', () => {
    expect(decodeAlert(hex('0100'))).toEqual({ level: AlertLevel.warning, description: AlertDescription.close_notify });
  });

  it('keeps unknown descriptions as numbers', () => {
    expect(decodeAlert(hex('02fe'))).toEqual({ level: 2, description: 254 });
  });

  it('round-trips every level and description', () => {
    for (const level of [AlertLevel.warning, AlertLevel.fatal]) {
      for (let description = 0; description < 256; description++) {
        expect(decodeAlert(encodeAlert({ level, description }))).toEqual({ level, description });
      }
    }
  });

  it.each([
    ['empty', ''],
    ['truncated', '02'],
    ['trailing bytes', '023300'],
    ['level 0', '0028'],
    ['level 3', '0328'],
  ])('throws DecodeError when %s', (_, input) => {
    expect(() => decodeAlert(hex(input))).toThrow(DecodeError);
  });
});
