import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { ByteWriter, concat, toHex } from '../../../src/util/bytes.js';
import { ContentType, DTLS10, DTLS12, MAX_CIPHERTEXT_LENGTH } from '../../../src/dtls/wire/constants.js';
import { type DtlsRecord, decodeRecord, decodeRecords, encodeRecord } from '../../../src/dtls/wire/record.js';
import { pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { hex } from '../fixtures/helpers.js';

/** A record header with any length field, written by hand (encodeRecord refuses oversized ones). */
const header = (type: number, length: number): Uint8Array =>
  new ByteWriter().u8(type).u16(DTLS12).u16(0).u48(0).u16(length).finish();

describe('decodeRecords on OpenSSL datagrams', () => {
  it('splits the server flight into ServerHello, ServerKeyExchange and ServerHelloDone records', () => {
    const { records, malformed } = decodeRecords(hex(pskCcm8.serverFlight));
    expect(malformed).toBe(0);
    expect(records.map((r) => [r.type, r.version, r.epoch, r.seq, r.fragment.length])).toEqual([
      [ContentType.handshake, DTLS12, 0, 1, 0x41],
      [ContentType.handshake, DTLS12, 0, 2, 0x16],
      [ContentType.handshake, DTLS12, 0, 3, 0x0c],
    ]);
  });

  it('reads the client flight: handshake, change_cipher_spec, then epoch 1', () => {
    const { records, malformed } = decodeRecords(hex(pskCcm8.clientFlight));
    expect(malformed).toBe(0);
    expect(records.map((r) => [r.type, r.epoch, r.seq, r.fragment.length])).toEqual([
      [ContentType.handshake, 0, 2, 0x15],
      [ContentType.change_cipher_spec, 0, 3, 1],
      [ContentType.handshake, 1, 0, 0x28],
    ]);
  });

  it('reads the DTLS 1.0 record version of the first ClientHello and the HelloVerifyRequest', () => {
    for (const dgram of [pskCcm8.clientHello, pskCcm8.helloVerifyRequest]) {
      const { records } = decodeRecords(hex(dgram));
      expect(records).toHaveLength(1);
      expect(records[0]?.version).toBe(DTLS10);
    }
  });

  it('re-encodes every fixture datagram to the same bytes', () => {
    for (const dgram of Object.values(pskCcm8)) {
      const { records, malformed } = decodeRecords(hex(dgram));
      expect(malformed).toBe(0);
      expect(toHex(concat(...records.map((r) => encodeRecord(r))))).toBe(dgram);
    }
  });

  it('gives fragments as views into the datagram (no copy per record)', () => {
    const dgram = hex(pskCcm8.helloVerifyRequest);
    const fragment = decodeRecords(dgram).records[0]?.fragment ?? new Uint8Array(0);
    expect(fragment.buffer).toBe(dgram.buffer);
    expect(fragment.byteOffset).toBe(dgram.byteOffset + 13);
    expect(fragment.length).toBe(dgram.length - 13);
  });
});

describe('decodeRecords on invalid input', () => {
  const good = hex(pskCcm8.helloVerifyRequest);

  it('returns nothing for an empty datagram', () => {
    expect(decodeRecords(new Uint8Array(0))).toEqual({ records: [], malformed: 0 });
  });

  it('keeps the records before a truncated header and counts it', () => {
    const { records, malformed } = decodeRecords(concat(good, good.subarray(0, 7)));
    expect(records).toHaveLength(1);
    expect(malformed).toBe(1);
  });

  it('drops a record whose fragment is shorter than its length', () => {
    const { records, malformed } = decodeRecords(concat(good, good.subarray(0, good.length - 1)));
    expect(records).toHaveLength(1);
    expect(malformed).toBe(1);
  });

  it('stops at the first invalid record even if a valid one follows', () => {
    const n = MAX_CIPHERTEXT_LENGTH + 1;
    const bad = concat(header(ContentType.handshake, n), new Uint8Array(n));
    const { records, malformed } = decodeRecords(concat(good, bad, good));
    expect(records).toHaveLength(1);
    expect(malformed).toBe(1);
  });

  it('accepts a record of exactly 2^14 + 2048 octets', () => {
    const n = MAX_CIPHERTEXT_LENGTH;
    const max = concat(header(ContentType.application_data, n), new Uint8Array(n));
    expect(decodeRecords(max).records[0]?.fragment.length).toBe(MAX_CIPHERTEXT_LENGTH);
  });

  it('treats a tls12_cid record as invalid when no connection ID was negotiated', () => {
    const cidRecord = encodeRecord({
      type: ContentType.tls12_cid,
      version: DTLS12,
      epoch: 1,
      seq: 5,
      cid: hex('c1d2'),
      fragment: hex('00'),
    });
    expect(decodeRecords(cidRecord)).toEqual({ records: [], malformed: 1 });
  });
});

describe('connection ID records (RFC 9146 §4)', () => {
  const rec: DtlsRecord = {
    type: ContentType.tls12_cid,
    version: DTLS12,
    epoch: 1,
    seq: 0x1234,
    cid: hex('a1b2c3d4'),
    fragment: hex('deadbeef'),
  };

  it('places the cid between sequence number and length', () => {
    expect(toHex(encodeRecord(rec))).toBe('19fefd0001000000001234a1b2c3d40004deadbeef');
  });

  it('round-trips with the negotiated cid length', () => {
    const { records, malformed } = decodeRecords(concat(encodeRecord(rec), encodeRecord(rec)), { cidLength: 4 });
    expect(malformed).toBe(0);
    expect(records).toEqual([rec, rec]);
  });

  it('does not read a cid on other content types', () => {
    const plain = { type: ContentType.alert, version: DTLS12, epoch: 1, seq: 9, fragment: hex('0100') };
    expect(decodeRecords(encodeRecord(plain), { cidLength: 4 }).records).toEqual([plain]);
  });

  it('refuses to encode a cid without tls12_cid, or tls12_cid without a cid', () => {
    expect(() => encodeRecord({ ...rec, type: ContentType.application_data })).toThrow(RangeError);
    const { cid: _, ...withoutCid } = rec;
    expect(() => encodeRecord(withoutCid)).toThrow(RangeError);
  });
});

describe('decodeRecord / encodeRecord', () => {
  it('round-trips the largest 48-bit sequence number and epoch', () => {
    const seq = 2 ** 48 - 1;
    const rec = { type: ContentType.application_data, version: DTLS12, epoch: 0xffff, seq, fragment: hex('01') };
    const bytes = encodeRecord(rec);
    expect(toHex(bytes.subarray(3, 11))).toBe('ffffffffffffffff');
    expect(decodeRecord(bytes)).toEqual(rec);
  });

  it('throws DecodeError on trailing bytes or truncation', () => {
    const bytes = hex(pskCcm8.helloVerifyRequest);
    expect(() => decodeRecord(concat(bytes, hex('00')))).toThrow(DecodeError);
    expect(() => decodeRecord(bytes.subarray(0, 12))).toThrow(DecodeError);
    expect(() => decodeRecord(bytes.subarray(0, bytes.length - 1))).toThrow(DecodeError);
  });

  it('refuses to encode out-of-range fields', () => {
    const ok = { type: 23, version: DTLS12, epoch: 0, seq: 0, fragment: new Uint8Array(0) };
    expect(() => encodeRecord({ ...ok, seq: 2 ** 48 })).toThrow(RangeError);
    expect(() => encodeRecord({ ...ok, epoch: 0x10000 })).toThrow(RangeError);
    expect(() => encodeRecord({ ...ok, fragment: new Uint8Array(MAX_CIPHERTEXT_LENGTH + 1) })).toThrow(RangeError);
  });
});
