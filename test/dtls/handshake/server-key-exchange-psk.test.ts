import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { concat, toHex, utf8 } from '../../../src/util/bytes.js';
import { HandshakeType, NamedGroup } from '../../../src/dtls/wire/constants.js';
import {
  decodeServerKeyExchangeEcdhePsk,
  decodeServerKeyExchangePsk,
  encodeServerKeyExchangeEcdhePsk,
  encodeServerKeyExchangePsk,
} from '../../../src/dtls/handshake/server-key-exchange-psk.js';
import { ecdhePsk, pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex, prefixes } from '../fixtures/helpers.js';

describe('ServerKeyExchange, PSK (RFC 4279 §2)', () => {
  const body = handshakeBody(pskCcm8.serverFlight, HandshakeType.server_key_exchange);

  it('decodes the hint OpenSSL sent (-psk_hint e2m-hint) and re-encodes it', () => {
    const ske = decodeServerKeyExchangePsk(body);
    expect(ske.pskIdentityHint).toEqual(utf8('e2m-hint'));
    expect(encodeServerKeyExchangePsk(ske)).toEqual(body);
  });

  it('round-trips an empty and a maximal hint', () => {
    for (const pskIdentityHint of [new Uint8Array(0), new Uint8Array(0xffff).fill(0x41)]) {
      expect(decodeServerKeyExchangePsk(encodeServerKeyExchangePsk({ pskIdentityHint }))).toEqual({ pskIdentityHint });
    }
  });

  it('throws DecodeError on truncation and trailing bytes, RangeError on an oversized hint', () => {
    for (const p of prefixes(body)) expect(() => decodeServerKeyExchangePsk(p)).toThrow(DecodeError);
    expect(() => decodeServerKeyExchangePsk(concat(body, hex('00')))).toThrow(DecodeError);
    expect(() => encodeServerKeyExchangePsk({ pskIdentityHint: new Uint8Array(0x10000) })).toThrow(RangeError);
  });
});

describe('ServerKeyExchange, ECDHE_PSK (RFC 5489 §2)', () => {
  const body = handshakeBody(ecdhePsk.serverFlight, HandshakeType.server_key_exchange);

  it('decodes the x25519 key OpenSSL sent and re-encodes it', () => {
    const ske = decodeServerKeyExchangeEcdhePsk(body);
    expect(ske.pskIdentityHint).toHaveLength(0);
    expect(ske.namedCurve).toBe(NamedGroup.x25519);
    expect(toHex(ske.publicKey)).toBe('86368daa671fda3de5d21557eaf26578375fc09ff18f3e135f5c1d1509d58c33');
    expect(encodeServerKeyExchangeEcdhePsk(ske)).toEqual(body);
  });

  it('round-trips', () => {
    const publicKey = new Uint8Array(65).fill(4);
    const ske = { pskIdentityHint: utf8('hint'), namedCurve: NamedGroup.secp256r1, publicKey };
    expect(decodeServerKeyExchangeEcdhePsk(encodeServerKeyExchangeEcdhePsk(ske))).toEqual(ske);
  });

  it('throws DecodeError on truncation, trailing bytes, explicit curves, an empty point', () => {
    for (const p of prefixes(body)) expect(() => decodeServerKeyExchangeEcdhePsk(p)).toThrow(DecodeError);
    expect(() => decodeServerKeyExchangeEcdhePsk(concat(body, hex('00')))).toThrow(DecodeError);
    expect(() => decodeServerKeyExchangeEcdhePsk(hex('0000' + '01' + '001d' + '0100'))).toThrow(/named_curve/);
    expect(() => decodeServerKeyExchangeEcdhePsk(hex('0000' + '03' + '001d' + '00'))).toThrow(DecodeError);
    const noPoint = { pskIdentityHint: hex(''), namedCurve: NamedGroup.x25519, publicKey: hex('') };
    expect(() => encodeServerKeyExchangeEcdhePsk(noPoint)).toThrow(RangeError);
  });
});
