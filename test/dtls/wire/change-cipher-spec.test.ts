import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { ContentType } from '../../../src/dtls/wire/constants.js';
import { decodeRecords } from '../../../src/dtls/wire/record.js';
import { decodeChangeCipherSpec, encodeChangeCipherSpec } from '../../../src/dtls/wire/change-cipher-spec.js';
import { pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { hex } from '../fixtures/helpers.js';

describe('change_cipher_spec (RFC 5246 §7.1)', () => {
  it('accepts the ChangeCipherSpec records OpenSSL sent', () => {
    for (const dgram of [pskCcm8.clientFlight, pskCcm8.serverCcsFinished]) {
      const ccs = decodeRecords(hex(dgram)).records.find((r) => r.type === ContentType.change_cipher_spec);
      expect(ccs).toBeDefined();
      expect(() => decodeChangeCipherSpec(ccs?.fragment ?? new Uint8Array(0))).not.toThrow();
    }
  });

  it('encodes the single octet 01', () => {
    expect(encodeChangeCipherSpec()).toEqual(Uint8Array.of(1));
  });

  it.each([
    ['empty', ''],
    ['value 0', '00'],
    ['value 2', '02'],
    ['trailing bytes', '0101'],
  ])('throws DecodeError when %s', (_, input) => {
    expect(() => decodeChangeCipherSpec(hex(input))).toThrow(DecodeError);
  });
});
