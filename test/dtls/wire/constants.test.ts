import { describe, expect, it } from 'vitest';
import {
  AlertDescription,
  CipherSuiteId,
  ContentType,
  DTLS10,
  DTLS12,
  ExtensionType,
  HandshakeType,
  alertName,
} from '../../../src/dtls/wire/constants.js';

describe('wire constants', () => {
  it('carries the registry values the stack relies on', () => {
    expect(ContentType).toMatchObject({
      change_cipher_spec: 20,
      alert: 21,
      handshake: 22,
      application_data: 23,
      tls12_cid: 25,
    });
    expect(HandshakeType).toMatchObject({ client_hello: 1, server_hello: 2, hello_verify_request: 3, finished: 20 });
    expect(ExtensionType).toMatchObject({
      extended_master_secret: 23,
      renegotiation_info: 0xff01,
      record_size_limit: 28,
      connection_id: 54,
    });
    expect(CipherSuiteId.TLS_PSK_WITH_AES_128_CCM_8).toBe(0xc0a8);
    expect(CipherSuiteId.TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256).toBe(0xd003);
    expect([DTLS12, DTLS10]).toEqual([0xfefd, 0xfeff]);
  });

  it('has no two alert names for one code', () => {
    const codes = Object.values(AlertDescription);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('names alerts, and unknown codes', () => {
    expect(alertName(115)).toBe('unknown_psk_identity');
    expect(alertName(51)).toBe('decrypt_error');
    expect(alertName(0)).toBe('close_notify');
    expect(alertName(100)).toBe('no_renegotiation');
    expect(alertName(7)).toBe('unknown_alert(7)');
  });
});
