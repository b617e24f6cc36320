import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { ByteWriter, concat, toHex } from '../../../src/util/bytes.js';
import { CipherSuiteId, DTLS12, ExtensionType, HandshakeType } from '../../../src/dtls/wire/constants.js';
import { type ClientHello, decodeClientHello, encodeClientHello } from '../../../src/dtls/handshake/client-hello.js';
import { ecdhePsk, pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex } from '../fixtures/helpers.js';

const withCookie = handshakeBody(pskCcm8.clientHelloWithCookie, HandshakeType.client_hello);
const withoutCookie = handshakeBody(pskCcm8.clientHello, HandshakeType.client_hello);

describe('ClientHello from OpenSSL s_client', () => {
  it('decodes the fields', () => {
    const hello = decodeClientHello(withCookie);
    expect(hello.clientVersion).toBe(DTLS12);
    expect(toHex(hello.random)).toBe('4cf9e3b7107d1b5802f33bde214ac7422d46a6f13b448db8b5085b3d8f7ca197');
    expect(hello.sessionId).toHaveLength(0);
    expect(toHex(hello.cookie)).toBe('09dcac9fd15198c94753b0338f3bb52625468b89');
    expect(hello.cipherSuites).toEqual([
      CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8,
      CipherSuiteId.TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    ]);
    expect(hello.compressionMethods).toEqual([0]);
    expect(hello.extensions?.map((e) => e.type)).toEqual([
      ExtensionType.session_ticket,
      ExtensionType.encrypt_then_mac,
      ExtensionType.extended_master_secret,
      ExtensionType.signature_algorithms,
    ]);
    expect(hello.extensions?.find((e) => e.type === ExtensionType.extended_master_secret)?.data).toHaveLength(0);
  });

  it('has an empty cookie in the first ClientHello, and otherwise the same fields', () => {
    const first = decodeClientHello(withoutCookie);
    expect(first.cookie).toHaveLength(0);
    expect({ ...first, cookie: undefined }).toEqual({ ...decodeClientHello(withCookie), cookie: undefined });
  });

  it('reads the ECDHE_PSK ClientHello with ec_point_formats and supported_groups', () => {
    const hello = decodeClientHello(handshakeBody(ecdhePsk.clientHello, HandshakeType.client_hello));
    expect(hello.cipherSuites).toEqual([0xc037, CipherSuiteId.TLS_EMPTY_RENEGOTIATION_INFO_SCSV]);
    const groups = hello.extensions?.find((e) => e.type === ExtensionType.supported_groups);
    expect(toHex(groups?.data ?? new Uint8Array(0))).toBe('000a001d0017001e00190018');
  });

  it('re-encodes to the same bytes', () => {
    for (const body of [withCookie, withoutCookie, handshakeBody(ecdhePsk.clientHello, HandshakeType.client_hello)]) {
      expect(toHex(encodeClientHello(decodeClientHello(body)))).toBe(toHex(body));
    }
  });
});

const base: ClientHello = {
  clientVersion: DTLS12,
  random: new Uint8Array(32).fill(7),
  sessionId: new Uint8Array(0),
  cookie: hex('c00c1e'),
  cipherSuites: [0xc0a8],
  compressionMethods: [0],
};

describe('ClientHello round trips', () => {
  it.each([
    ['no extensions block', base],
    ['an empty extensions block', { ...base, extensions: [] }],
    [
      'unknown extensions kept raw',
      { ...base, extensions: [{ type: 0xabcd, data: hex('0102') }, { type: 23, data: hex('') }] },
    ],
    [
      'a full session id and a 255-octet cookie',
      { ...base, sessionId: new Uint8Array(32).fill(1), cookie: new Uint8Array(255).fill(2) },
    ],
  ])('with %s', (_, hello) => {
    expect(decodeClientHello(encodeClientHello(hello))).toEqual(hello);
  });

  it('tells "no extensions" from "empty extensions" on the wire', () => {
    expect(encodeClientHello({ ...base, extensions: [] }).length).toBe(encodeClientHello(base).length + 2);
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodeClientHello({ ...base, random: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => encodeClientHello({ ...base, sessionId: new Uint8Array(33) })).toThrow(RangeError);
    expect(() => encodeClientHello({ ...base, cookie: new Uint8Array(256) })).toThrow(RangeError);
    expect(() => encodeClientHello({ ...base, cipherSuites: [] })).toThrow(RangeError);
    expect(() => encodeClientHello({ ...base, compressionMethods: [] })).toThrow(RangeError);
    const twice = [{ type: 1, data: hex('') }, { type: 1, data: hex('') }];
    expect(() => encodeClientHello({ ...base, extensions: twice })).toThrow(RangeError);
  });
});

/** A ClientHello written field by field, so that each length can be made wrong. */
interface RawFields {
  sid?: string;
  sidLen?: number;
  suites?: string;
  suitesLen?: number;
  comp?: string;
  compLen?: number;
  tail?: string;
}

function raw(p: RawFields): Uint8Array {
  const w = new ByteWriter().u16(DTLS12).bytes(new Uint8Array(32));
  const sid = hex(p.sid ?? '');
  w.u8(p.sidLen ?? sid.length).bytes(sid).u8(0);
  const suites = hex(p.suites ?? 'c0a8');
  w.u16(p.suitesLen ?? suites.length).bytes(suites);
  const comp = hex(p.comp ?? '00');
  w.u8(p.compLen ?? comp.length).bytes(comp);
  return concat(w.finish(), hex(p.tail ?? ''));
}

describe('ClientHello length violations throw DecodeError', () => {
  it('accepts the baseline', () => {
    expect(decodeClientHello(raw({})).cipherSuites).toEqual([0xc0a8]);
  });

  it.each([
    ['session_id of 33 octets', raw({ sid: '00'.repeat(33) })],
    ['session_id length past the end', raw({ sidLen: 200 })],
    ['empty cipher_suites', raw({ suites: '' })],
    ['odd cipher_suites length', raw({ suites: 'c0a800' })],
    ['cipher_suites length past the end', raw({ suitesLen: 0x100 })],
    ['empty compression_methods', raw({ comp: '' })],
    ['compression_methods length past the end', raw({ compLen: 9 })],
    ['a single octet where extensions would be', raw({ tail: '00' })],
    ['extensions length past the end', raw({ tail: '0010' + '00170000' })],
    ['extension data past the extensions block', raw({ tail: '0004' + '00170001' + 'ff' })],
    ['a duplicate extension', raw({ tail: '0008' + '00170000' + '00170000' })],
    ['trailing bytes after extensions', raw({ tail: '0004' + '00170000' + '00' })],
  ])('%s', (_, bytes) => {
    expect(() => decodeClientHello(bytes)).toThrow(DecodeError);
  });

  it('every truncation of the OpenSSL ClientHello throws, except the cut right before the extensions', () => {
    const fixedEnd = 2 + 32 + 1 + 1 + 20 + 2 + 4 + 1 + 1;
    for (let n = 0; n < withCookie.length; n++) {
      const prefix = withCookie.subarray(0, n);
      if (n === fixedEnd) expect(decodeClientHello(prefix).extensions).toBeUndefined();
      else expect(() => decodeClientHello(prefix), `prefix of ${n}`).toThrow(DecodeError);
    }
  });
});
