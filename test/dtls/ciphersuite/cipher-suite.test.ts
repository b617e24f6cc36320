import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  cipherSuiteById,
  TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256,
  TLS_PSK_WITH_AES_128_CCM,
  TLS_PSK_WITH_AES_128_CCM_8,
} from '../../../src/dtls/ciphersuite/cipher-suite.js';

describe('cipher suite registry', () => {
  // Code points from the IANA TLS Cipher Suites registry (RFC 6655 §4, RFC 8442 §3).
  it.each([
    [0xc0a8, 'TLS_PSK_WITH_AES_128_CCM_8', 'psk', 8],
    [0xc0a4, 'TLS_PSK_WITH_AES_128_CCM', 'psk', 16],
    [0xd003, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256', 'ecdhe_psk', 8],
  ])('0x%s is %s', (id, name, kx, tag) => {
    const s = cipherSuiteById(id);
    expect(s).toBeDefined();
    expect(s?.name).toBe(name);
    expect(s?.keyExchange).toBe(kx);
    expect(s?.tagLength).toBe(tag);
    // AES-128-CCM with a 4-octet salt and an 8-octet explicit nonce (RFC 6655 §3).
    expect([s?.encKeyLength, s?.fixedIvLength, s?.recordIvLength]).toEqual([16, 4, 8]);
  });

  it('returns the exported constants', () => {
    expect(cipherSuiteById(0xc0a8)).toBe(TLS_PSK_WITH_AES_128_CCM_8);
    expect(cipherSuiteById(0xc0a4)).toBe(TLS_PSK_WITH_AES_128_CCM);
    expect(cipherSuiteById(0xd003)).toBe(TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256);
  });

  it.each([0x0000, 0x00ff, 0xc0a9, 0xc0a5, 0x1301, 0xd001, -1, 0x1c0a8])('does not know 0x%s', (id) => {
    expect(cipherSuiteById(id)).toBeUndefined();
  });

  it('prefers CCM_8 (RFC 7925 §4.2 mandatory-to-implement) and has unique ids', () => {
    expect(CIPHER_SUITES[0]?.id).toBe(0xc0a8);
    expect(new Set(CIPHER_SUITES.map((s) => s.id)).size).toBe(CIPHER_SUITES.length);
  });

  it('suites are immutable', () => {
    expect(Object.isFrozen(TLS_PSK_WITH_AES_128_CCM_8)).toBe(true);
    expect(Object.isFrozen(CIPHER_SUITES)).toBe(true);
  });
});
