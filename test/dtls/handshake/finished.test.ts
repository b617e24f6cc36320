import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { toHex } from '../../../src/util/bytes.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import { decodeHandshakeFragments } from '../../../src/dtls/handshake/header.js';
import { decodeFinished, encodeFinished } from '../../../src/dtls/handshake/finished.js';
import { finishedPlaintext } from '../fixtures/openssl-dtls12.js';
import { hex } from '../fixtures/helpers.js';

describe('Finished (RFC 5246 §7.4.9)', () => {
  it('decodes the decrypted Finished messages of the OpenSSL handshake', () => {
    const [client] = decodeHandshakeFragments(hex(finishedPlaintext.client));
    const [server] = decodeHandshakeFragments(hex(finishedPlaintext.server));
    expect(client?.msgType).toBe(HandshakeType.finished);
    expect(toHex(decodeFinished(client?.body ?? hex('')).verifyData)).toBe('0fcbb3a6501b34ba9dde1664');
    expect(toHex(decodeFinished(server?.body ?? hex('')).verifyData)).toBe('a3de3f96a2431a5537200500');
  });

  it('round-trips and copies', () => {
    const verifyData = hex('000102030405060708090a0b');
    const bytes = encodeFinished({ verifyData });
    expect(bytes).not.toBe(verifyData);
    expect(decodeFinished(bytes)).toEqual({ verifyData });
  });

  it('throws DecodeError unless exactly 12 octets, RangeError when encoding another length', () => {
    expect(() => decodeFinished(new Uint8Array(11))).toThrow(DecodeError);
    expect(() => decodeFinished(new Uint8Array(13))).toThrow(DecodeError);
    expect(() => decodeFinished(new Uint8Array(0))).toThrow(DecodeError);
    expect(() => encodeFinished({ verifyData: new Uint8Array(11) })).toThrow(RangeError);
  });
});
