import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { concat, toHex } from '../../../src/util/bytes.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import { decodeRecords } from '../../../src/dtls/wire/record.js';
import {
  HANDSHAKE_HEADER_LENGTH,
  decodeHandshakeFragments,
  encodeHandshakeFragment,
  fragmentHandshake,
  fullMessageBytes,
} from '../../../src/dtls/handshake/header.js';
import { finishedPlaintext, pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeFragments, hex, prefixes } from '../fixtures/helpers.js';

describe('handshake header on OpenSSL messages', () => {
  it('reads type, length, message_seq and fragment fields of the server flight', () => {
    const frags = handshakeFragments(pskCcm8.serverFlight);
    expect(frags.map((f) => [f.msgType, f.length, f.messageSeq, f.fragmentOffset, f.fragmentLength])).toEqual([
      [HandshakeType.server_hello, 0x35, 1, 0, 0x35],
      [HandshakeType.server_key_exchange, 0x0a, 2, 0, 0x0a],
      [HandshakeType.server_hello_done, 0, 3, 0, 0],
    ]);
  });

  it('re-encodes each record fragment to the same bytes, and it equals fullMessageBytes', () => {
    for (const dgram of [pskCcm8.clientHello, pskCcm8.clientHelloWithCookie, pskCcm8.serverFlight]) {
      for (const record of decodeRecords(hex(dgram)).records) {
        const [f, ...more] = decodeHandshakeFragments(record.fragment);
        expect(more).toHaveLength(0);
        if (f === undefined) throw new Error('no fragment');
        expect(encodeHandshakeFragment(f)).toEqual(record.fragment);
        expect(fullMessageBytes(f.msgType, f.messageSeq, f.body)).toEqual(record.fragment);
      }
    }
  });

  it('decodes the decrypted Finished messages', () => {
    const [client] = decodeHandshakeFragments(hex(finishedPlaintext.client));
    expect(client).toMatchObject({ msgType: HandshakeType.finished, length: 12, messageSeq: 3 });
  });
});

describe('several fragments in one record', () => {
  it('decodes them in order', () => {
    const record = concat(
      ...fragmentHandshake(HandshakeType.server_hello, 1, hex('00112233445566'), 3),
      fullMessageBytes(HandshakeType.server_hello_done, 2, new Uint8Array(0)),
    );
    const frags = decodeHandshakeFragments(record);
    expect(frags.map((f) => [f.msgType, f.messageSeq, f.fragmentOffset, toHex(f.body)])).toEqual([
      [2, 1, 0, '001122'],
      [2, 1, 3, '334455'],
      [2, 1, 6, '66'],
      [14, 2, 0, ''],
    ]);
  });
});

describe('decodeHandshakeFragments on invalid input', () => {
  const good = fullMessageBytes(HandshakeType.finished, 3, hex('000102030405060708090a0b'));

  it('rejects an empty record', () => {
    expect(() => decodeHandshakeFragments(new Uint8Array(0))).toThrow(DecodeError);
  });

  it('rejects every truncation', () => {
    for (const p of prefixes(good)) expect(() => decodeHandshakeFragments(p)).toThrow(DecodeError);
  });

  it('rejects a truncated second fragment', () => {
    expect(() => decodeHandshakeFragments(concat(good, good.subarray(0, 5)))).toThrow(DecodeError);
  });

  it('rejects a fragment that ends past the message length', () => {
    const bad = hex(['14', '000004', '0003', '000002', '000003', 'aabbcc'].join('')); // offset 2 + 3 > length 4
    expect(() => decodeHandshakeFragments(bad)).toThrow(/ends past message length/);
  });

  it('copies the body out of the record', () => {
    const record = good.slice();
    const [f] = decodeHandshakeFragments(record);
    record.fill(0xee);
    expect(toHex(f?.body ?? new Uint8Array(0))).toBe('000102030405060708090a0b');
  });
});

describe('fragmentHandshake', () => {
  const body = Uint8Array.from({ length: 100 }, (_, i) => i);

  it('cuts a body into fragments of at most maxFragmentBody octets that cover it exactly', () => {
    const encoded = fragmentHandshake(HandshakeType.client_hello, 7, body, 30);
    const frags = encoded.flatMap((b) => decodeHandshakeFragments(b));
    expect(frags.map((f) => [f.fragmentOffset, f.fragmentLength])).toEqual([[0, 30], [30, 30], [60, 30], [90, 10]]);
    expect(frags.every((f) => f.length === 100 && f.messageSeq === 7 && f.msgType === 1)).toBe(true);
    expect(concat(...frags.map((f) => f.body))).toEqual(body);
  });

  it('gives a single unfragmented message when it fits', () => {
    expect(fragmentHandshake(HandshakeType.client_hello, 0, body, 100)).toEqual([fullMessageBytes(1, 0, body)]);
  });

  it('gives one empty fragment for an empty body', () => {
    const frags = fragmentHandshake(HandshakeType.server_hello_done, 2, new Uint8Array(0), 10);
    expect(frags).toHaveLength(1);
    expect(frags[0]?.length).toBe(HANDSHAKE_HEADER_LENGTH);
  });

  it('refuses a maxFragmentBody below 1', () => {
    expect(() => fragmentHandshake(1, 0, body, 0)).toThrow(RangeError);
    expect(() => fragmentHandshake(1, 0, body, 1.5)).toThrow(RangeError);
  });
});

describe('encodeHandshakeFragment', () => {
  it('refuses a fragment that does not fit its message or overflowing fields', () => {
    const f = { msgType: 1, length: 4, messageSeq: 0, fragmentOffset: 2, body: hex('aabbcc') };
    expect(() => encodeHandshakeFragment(f)).toThrow(RangeError);
    expect(() => encodeHandshakeFragment({ ...f, fragmentOffset: 0, messageSeq: 0x10000 })).toThrow(RangeError);
    expect(() => encodeHandshakeFragment({ ...f, length: 2 ** 24 })).toThrow(RangeError);
  });
});
