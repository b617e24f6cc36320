import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { concat, toHex } from '../../../src/util/bytes.js';
import { CipherSuiteId, DTLS12, ExtensionType, HandshakeType } from '../../../src/dtls/wire/constants.js';
import { type ServerHello, decodeServerHello, encodeServerHello } from '../../../src/dtls/handshake/server-hello.js';
import { decodeRenegotiationInfo, findExtension } from '../../../src/dtls/handshake/extensions.js';
import { ecdhePsk, pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex } from '../fixtures/helpers.js';

const body = handshakeBody(pskCcm8.serverFlight, HandshakeType.server_hello);

describe('ServerHello from OpenSSL s_server', () => {
  it('decodes the fields', () => {
    const hello = decodeServerHello(body);
    expect(hello.serverVersion).toBe(DTLS12);
    expect(toHex(hello.random)).toBe('27c8b956c4dc254c3646c8cdfdf968f0e45f0421db748dec4571221562071e73');
    expect(hello.sessionId).toHaveLength(0);
    expect(hello.cipherSuite).toBe(CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8);
    expect(hello.compressionMethod).toBe(0);
    expect(hello.extensions?.map((e) => e.type)).toEqual([
      ExtensionType.renegotiation_info,
      ExtensionType.session_ticket,
      ExtensionType.extended_master_secret,
    ]);
    const reneg = findExtension(hello.extensions, ExtensionType.renegotiation_info);
    expect(decodeRenegotiationInfo(reneg?.data ?? new Uint8Array(0))).toHaveLength(0);
  });

  it('re-encodes to the same bytes (PSK and ECDHE_PSK runs)', () => {
    for (const b of [body, handshakeBody(ecdhePsk.serverFlight, HandshakeType.server_hello)]) {
      expect(toHex(encodeServerHello(decodeServerHello(b)))).toBe(toHex(b));
    }
  });
});

const base: ServerHello = {
  serverVersion: DTLS12,
  random: new Uint8Array(32).fill(9),
  sessionId: new Uint8Array(32).fill(3),
  cipherSuite: 0xc0a8,
  compressionMethod: 0,
};

describe('ServerHello round trips and violations', () => {
  it.each([
    ['no extensions block', base],
    ['empty extensions', { ...base, extensions: [] }],
    ['extensions', { ...base, extensions: [{ type: 0xff01, data: hex('00') }, { type: 0x7777, data: hex('abcdef') }] }],
  ])('round-trips with %s', (_, hello) => {
    expect(decodeServerHello(encodeServerHello(hello))).toEqual(hello);
  });

  it('refuses to encode a bad random or session id', () => {
    expect(() => encodeServerHello({ ...base, random: new Uint8Array(33) })).toThrow(RangeError);
    expect(() => encodeServerHello({ ...base, sessionId: new Uint8Array(33) })).toThrow(RangeError);
  });

  it('throws DecodeError on every truncation except the cut before the extensions', () => {
    const fixedEnd = 2 + 32 + 1 + 2 + 1;
    for (let n = 0; n < body.length; n++) {
      if (n === fixedEnd) expect(decodeServerHello(body.subarray(0, n)).extensions).toBeUndefined();
      else expect(() => decodeServerHello(body.subarray(0, n)), `prefix of ${n}`).toThrow(DecodeError);
    }
  });

  it('throws DecodeError on trailing bytes, a long session id, duplicates', () => {
    expect(() => decodeServerHello(concat(body, hex('00')))).toThrow(DecodeError);
    const longSid = concat(hex('fefd'), new Uint8Array(32), hex('21'), new Uint8Array(33), hex('c0a800'));
    expect(() => decodeServerHello(longSid)).toThrow(DecodeError);
    const dup = encodeServerHello({ ...base, extensions: [] });
    const twice = hex('0008' + '00170000' + '00170000');
    expect(() => decodeServerHello(concat(dup.subarray(0, dup.length - 2), twice))).toThrow(/duplicate/);
  });
});
