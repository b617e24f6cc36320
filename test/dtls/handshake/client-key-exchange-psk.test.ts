import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/util/errors.js';
import { concat, toHex, utf8 } from '../../../src/util/bytes.js';
import { HandshakeType } from '../../../src/dtls/wire/constants.js';
import {
  decodeClientKeyExchangeEcdhePsk,
  decodeClientKeyExchangePsk,
  encodeClientKeyExchangeEcdhePsk,
  encodeClientKeyExchangePsk,
} from '../../../src/dtls/handshake/client-key-exchange-psk.js';
import { ecdhePsk, pskCcm8 } from '../fixtures/openssl-dtls12.js';
import { handshakeBody, hex, prefixes } from '../fixtures/helpers.js';

describe('ClientKeyExchange, PSK (RFC 4279 §2)', () => {
  const body = handshakeBody(pskCcm8.clientFlight, HandshakeType.client_key_exchange);

  it('decodes the identity OpenSSL sent (-psk_identity ue-0001) and re-encodes it', () => {
    const cke = decodeClientKeyExchangePsk(body);
    expect(cke.pskIdentity).toEqual(utf8('ue-0001'));
    expect(encodeClientKeyExchangePsk(cke)).toEqual(body);
  });

  it('keeps a non-UTF-8 identity as octets', () => {
    const pskIdentity = hex('ff00fe');
    expect(decodeClientKeyExchangePsk(encodeClientKeyExchangePsk({ pskIdentity }))).toEqual({ pskIdentity });
  });

  it('throws DecodeError on truncation and trailing bytes, RangeError on an oversized identity', () => {
    for (const p of prefixes(body)) expect(() => decodeClientKeyExchangePsk(p)).toThrow(DecodeError);
    expect(() => decodeClientKeyExchangePsk(concat(body, hex('00')))).toThrow(DecodeError);
    expect(() => decodeClientKeyExchangePsk(hex('ffff00'))).toThrow(DecodeError);
    expect(() => encodeClientKeyExchangePsk({ pskIdentity: new Uint8Array(0x10000) })).toThrow(RangeError);
  });
});

describe('ClientKeyExchange, ECDHE_PSK (RFC 5489 §2)', () => {
  const body = handshakeBody(ecdhePsk.clientFlight, HandshakeType.client_key_exchange);

  it('decodes the identity and x25519 point OpenSSL sent and re-encodes them', () => {
    const cke = decodeClientKeyExchangeEcdhePsk(body);
    expect(cke.pskIdentity).toEqual(utf8('ue-0001'));
    expect(toHex(cke.publicKey)).toBe('b47a52c45c1f25d7592c3ebbb67f80d888e78d113a62f34d444b465ff691fd04');
    expect(encodeClientKeyExchangeEcdhePsk(cke)).toEqual(body);
  });

  it('round-trips an empty identity and a 255-octet point', () => {
    const cke = { pskIdentity: new Uint8Array(0), publicKey: new Uint8Array(255).fill(4) };
    expect(decodeClientKeyExchangeEcdhePsk(encodeClientKeyExchangeEcdhePsk(cke))).toEqual(cke);
  });

  it('throws DecodeError on truncation, trailing bytes and an empty point', () => {
    for (const p of prefixes(body)) expect(() => decodeClientKeyExchangeEcdhePsk(p)).toThrow(DecodeError);
    expect(() => decodeClientKeyExchangeEcdhePsk(concat(body, hex('00')))).toThrow(DecodeError);
    expect(() => decodeClientKeyExchangeEcdhePsk(hex('000161' + '00'))).toThrow(DecodeError);
    expect(() => encodeClientKeyExchangeEcdhePsk({ pskIdentity: hex('61'), publicKey: hex('') })).toThrow(RangeError);
    const tooLong = new Uint8Array(256);
    expect(() => encodeClientKeyExchangeEcdhePsk({ pskIdentity: hex('61'), publicKey: tooLong })).toThrow(RangeError);
  });
});
