import { describe, expect, it } from 'vitest';
import { ecdhePskPremaster, pskPremaster } from '../../../src/dtls/keys/premaster.js';
import { fromHex, toHex } from '../../../src/util/bytes.js';
import { SecretBytes } from '../../../src/util/secret.js';

describe('pskPremaster (RFC 4279 §2)', () => {
  it('is uint16 N ‖ N zeros ‖ uint16 N ‖ psk', () => {
    const pm = pskPremaster(fromHex('0a0b0c', 'psk'));
    expect(toHex(pm.expose())).toBe('0003' + '000000' + '0003' + '0a0b0c');
  });

  it('handles a 16-octet PSK (the e2m_key size) and a SecretBytes PSK', () => {
    const psk = fromHex('00112233445566778899aabbccddeeff', 'psk');
    const expected = '0010' + '00'.repeat(16) + '0010' + '00112233445566778899aabbccddeeff';
    expect(toHex(pskPremaster(psk).expose())).toBe(expected);
    expect(toHex(pskPremaster(new SecretBytes(psk)).expose())).toBe(expected);
  });

  it('encodes N big-endian for PSKs of 256 octets and more', () => {
    const pm = pskPremaster(new Uint8Array(300).fill(7)).expose();
    expect(pm.length).toBe(4 + 600);
    expect(toHex(pm.subarray(0, 2))).toBe('012c');
    expect(pm.subarray(2, 302).every((b) => b === 0)).toBe(true);
    expect(toHex(pm.subarray(302, 304))).toBe('012c');
    expect(pm.subarray(304).every((b) => b === 7)).toBe(true);
  });

  it('is a SecretBytes that does not print its value', () => {
    const pm = pskPremaster(fromHex('0102', 'psk'));
    expect(pm).toBeInstanceOf(SecretBytes);
    expect(String(pm)).toBe('<secret:8 bytes>');
  });

  it('rejects an empty or over-long PSK', () => {
    expect(() => pskPremaster(new Uint8Array(0))).toThrow(RangeError);
    expect(() => pskPremaster(new Uint8Array(0x10000))).toThrow(RangeError);
    expect(() => pskPremaster(new Uint8Array(0xffff))).not.toThrow();
  });
});

describe('ecdhePskPremaster (RFC 5489 §2)', () => {
  it('is uint16 len(Z) ‖ Z ‖ uint16 N ‖ psk', () => {
    const pm = ecdhePskPremaster(fromHex('aabb', 'psk'), fromHex('0102030405', 'z'));
    expect(toHex(pm.expose())).toBe('0005' + '0102030405' + '0002' + 'aabb');
  });

  it('takes a 32-octet P-256 shared secret', () => {
    const z = new Uint8Array(32).fill(0x5a);
    const pm = ecdhePskPremaster(new SecretBytes(fromHex('01', 'psk')), new SecretBytes(z)).expose();
    expect(toHex(pm)).toBe('0020' + '5a'.repeat(32) + '0001' + '01');
  });

  it('rejects an empty shared secret', () => {
    expect(() => ecdhePskPremaster(fromHex('01', 'psk'), new Uint8Array(0))).toThrow(RangeError);
  });
});
