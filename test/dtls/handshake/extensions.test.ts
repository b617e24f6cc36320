import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { toHex } from '../../../src/util/bytes.js';
import { ExtensionType } from '../../../src/dtls/wire/constants.js';
import {
  decodeConnectionId,
  decodeExtendedMasterSecret,
  decodeExtensions,
  decodeRecordSizeLimit,
  decodeRenegotiationInfo,
  encodeConnectionId,
  encodeExtendedMasterSecret,
  encodeExtensions,
  encodeRecordSizeLimit,
  encodeRenegotiationInfo,
  findExtension,
} from '../../../src/dtls/handshake/extensions.js';
import { hex } from '../fixtures/helpers.js';

describe('extension list (RFC 5246 §7.4.1.4)', () => {
  it('decodes the ServerHello extensions OpenSSL sent and re-encodes them', () => {
    const bytes = hex('000d' + 'ff01000100' + '00230000' + '00170000');
    const list = decodeExtensions(bytes);
    expect(list.map((e) => [e.type, toHex(e.data)])).toEqual([
      [ExtensionType.renegotiation_info, '00'],
      [ExtensionType.session_ticket, ''],
      [ExtensionType.extended_master_secret, ''],
    ]);
    expect(encodeExtensions(list)).toEqual(bytes);
    expect(findExtension(list, ExtensionType.extended_master_secret)).toBeDefined();
    expect(findExtension(list, ExtensionType.connection_id)).toBeUndefined();
    expect(findExtension(undefined, ExtensionType.connection_id)).toBeUndefined();
  });

  it('keeps unknown extensions raw, in order', () => {
    const list = [{ type: 0xfafa, data: hex('0102030405') }, { type: 0, data: hex('') }];
    expect(decodeExtensions(encodeExtensions(list))).toEqual(list);
  });

  it.each([
    ['empty input', ''],
    ['one length octet', '00'],
    ['length past the end', '0005' + '00170000'],
    ['extension data past the vector', '0004' + '00170001' + 'ff'],
    ['a lone extension_type octet', '0001' + '00'],
    ['trailing bytes', '0004' + '00170000' + '00'],
    ['a duplicate type', '0008' + '00170000' + '00170000'],
  ])('throws DecodeError on %s', (_, input) => {
    expect(() => decodeExtensions(hex(input))).toThrow(DecodeError);
  });

  it('refuses to encode duplicates', () => {
    expect(() => encodeExtensions([{ type: 23, data: hex('') }, { type: 23, data: hex('') }])).toThrow(RangeError);
  });

  // Short lists are checked for duplicates by a scan, long ones through a Set: both paths.
  const many = (n: number, last: number): { type: number; data: Uint8Array }[] =>
    Array.from({ length: n }, (_, i) => ({ type: i === n - 1 ? last : 0x1000 + i, data: hex(i % 2 === 0 ? '' : 'ab') }));

  it.each([3, 16, 17, 40])('round-trips %i extensions and finds a duplicate in the last one', (n) => {
    const list = many(n, 0x2000);
    expect(decodeExtensions(encodeExtensions(list))).toEqual(list);
    const dup = many(n, 0x1000);
    expect(() => encodeExtensions(dup)).toThrow(RangeError);
    const bytes = encodeExtensions(list);
    // Rewrite the last extension_type on the wire to the first one's.
    const lastAt = bytes.length - 4 - (list[n - 1]?.data.length ?? 0);
    bytes[lastAt] = 0x10;
    bytes[lastAt + 1] = 0x00;
    expect(() => decodeExtensions(bytes)).toThrow(/duplicate extension type 4096/);
  });
});

describe('typed extension data', () => {
  it('extended_master_secret is empty (RFC 7627 §5.1)', () => {
    expect(encodeExtendedMasterSecret()).toHaveLength(0);
    expect(() => decodeExtendedMasterSecret(hex(''))).not.toThrow();
    expect(() => decodeExtendedMasterSecret(hex('00'))).toThrow(DecodeError);
  });

  it('renegotiation_info carries renegotiated_connection<0..255> (RFC 5746 §3.2)', () => {
    expect(toHex(encodeRenegotiationInfo(hex('')))).toBe('00');
    expect(decodeRenegotiationInfo(encodeRenegotiationInfo(hex('aabb')))).toEqual(hex('aabb'));
    expect(() => decodeRenegotiationInfo(hex(''))).toThrow(DecodeError);
    expect(() => decodeRenegotiationInfo(hex('02aa'))).toThrow(DecodeError);
    expect(() => decodeRenegotiationInfo(hex('0000'))).toThrow(DecodeError);
    expect(() => encodeRenegotiationInfo(new Uint8Array(256))).toThrow(RangeError);
  });

  it('record_size_limit is a uint16 of at least 64 (RFC 8449 §4)', () => {
    expect(toHex(encodeRecordSizeLimit(64))).toBe('0040');
    expect(decodeRecordSizeLimit(encodeRecordSizeLimit(2 ** 14 + 1))).toBe(2 ** 14 + 1);
    expect(decodeRecordSizeLimit(hex('ffff'))).toBe(0xffff);
    expect(() => decodeRecordSizeLimit(hex('003f'))).toThrow(DecodeError);
    expect(() => decodeRecordSizeLimit(hex('00'))).toThrow(DecodeError);
    expect(() => decodeRecordSizeLimit(hex('010000'))).toThrow(DecodeError);
    expect(() => encodeRecordSizeLimit(63)).toThrow(RangeError);
    expect(() => encodeRecordSizeLimit(2 ** 14 + 2)).toThrow(RangeError);
  });

  it('connection_id carries cid<0..2^8-1> (RFC 9146 §3)', () => {
    expect(toHex(encodeConnectionId(hex('')))).toBe('00');
    expect(toHex(encodeConnectionId(hex('0a0b0c')))).toBe('030a0b0c');
    expect(decodeConnectionId(hex('030a0b0c'))).toEqual(hex('0a0b0c'));
    expect(() => decodeConnectionId(hex('030a0b'))).toThrow(DecodeError);
    expect(() => decodeConnectionId(hex('010a0b'))).toThrow(DecodeError);
    expect(() => encodeConnectionId(new Uint8Array(256))).toThrow(RangeError);
  });
});
