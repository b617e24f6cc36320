import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { concat, toHex } from '../../../src/util/bytes.js';
import { DTLS10, DTLS12, HandshakeType } from '../../../src/dtls/wire/constants.js';
import {
  decodeHelloVerifyRequest,
  encodeHelloVerifyRequest,
} from '../../../src/dtls/handshake/hello-verify-request.js';
import { pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex, prefixes } from '../fixtures/helpers.js';

const body = handshakeBody(pskCcm8.helloVerifyRequest, HandshakeType.hello_verify_request);

describe('HelloVerifyRequest (RFC 6347 §4.2.1)', () => {
  it('decodes the one OpenSSL sent: DTLS 1.0 version, 20-octet cookie', () => {
    const hvr = decodeHelloVerifyRequest(body);
    expect(hvr.serverVersion).toBe(DTLS10);
    expect(toHex(hvr.cookie)).toBe('09dcac9fd15198c94753b0338f3bb52625468b89');
  });

  it('re-encodes to the same bytes', () => {
    expect(encodeHelloVerifyRequest(decodeHelloVerifyRequest(body))).toEqual(body);
  });

  it('round-trips empty and 255-octet cookies', () => {
    for (const cookie of [new Uint8Array(0), new Uint8Array(255).fill(0x5a)]) {
      const hvr = { serverVersion: DTLS12, cookie };
      expect(decodeHelloVerifyRequest(encodeHelloVerifyRequest(hvr))).toEqual(hvr);
    }
  });

  it('refuses to encode a 256-octet cookie', () => {
    expect(() => encodeHelloVerifyRequest({ serverVersion: DTLS10, cookie: new Uint8Array(256) })).toThrow(RangeError);
  });

  it('throws DecodeError on truncation and trailing bytes', () => {
    for (const p of prefixes(body)) expect(() => decodeHelloVerifyRequest(p)).toThrow(DecodeError);
    expect(() => decodeHelloVerifyRequest(concat(body, hex('00')))).toThrow(DecodeError);
  });
});
